"""Every use this package makes of TFDS internals (private names, undocumented layouts).

Written against TensorFlow Datasets 4.9.10. Each function here has a test in
`tests/test_tfds_internals.py` that checks TFDS still behaves as relied upon, so that a
TFDS upgrade that breaks one fails that test, not a user's build.
"""

from __future__ import annotations

import os
import re

from etils import epath
from tensorflow_datasets.core import registered
from tensorflow_datasets.core.utils import file_utils


def register_builder(builder_cls: type) -> None:
    """Makes `builder_cls` the class `tfds.builder(builder_cls.name)` resolves to.

    TFDS has no public way to replace a registered builder (registering a second class of
    the same name raises), and it ships its own `imagenet_pi`.
    """
    registered._DATASET_REGISTRY[builder_cls.name] = builder_cls


def data_dirs(data_dir: str | os.PathLike | None) -> list[epath.Path]:
    """The data_dirs TFDS looks in for `data_dir`: it alone, or every registered one if None."""
    return [epath.Path(path) for path in file_utils.list_data_dirs(data_dir)]


def incomplete_dir_pattern(version: str) -> re.Pattern[str]:
    """Matches the names of the temporary folders `download_and_prepare` builds `version` in.

    TFDS builds `<config dir>/<version>` in `<config dir>/incomplete.<6 letters or digits>_
    <version>` and renames it when done; a killed build leaves that folder behind.
    """
    return re.compile(rf"^incomplete\.[A-Z0-9]{{6}}_{re.escape(version)}$")
