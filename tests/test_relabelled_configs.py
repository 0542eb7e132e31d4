"""`imagenet_pi.relabelled_configs`, the public path of `imagenet-pi relabel`, gives its names."""

from __future__ import annotations

import pytest

from imagenet_pi import relabelled_configs
from imagenet_pi.relabelling import relabelled_configs as config_folders


@pytest.mark.parametrize("name", ["relabel_config", "write_relabelled_config"])
def test_the_public_path_gives_the_config_folder_functions(name):
    assert getattr(relabelled_configs, name) is getattr(config_folders, name)
