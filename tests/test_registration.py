"""`import imagenet_pi` makes `imagenet_pi` resolve to this package, whatever was imported first."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_TFDS_OWN = "tensorflow_datasets.datasets.imagenet_pi.imagenet_pi_dataset_builder"

_CHECK = """
import tensorflow_datasets as tfds
import imagenet_pi
assert tfds.builder_cls("imagenet_pi") is imagenet_pi.Builder, tfds.builder_cls("imagenet_pi")
builder = tfds.builder("imagenet_pi/low_noise", data_dir="{data_dir}")
assert isinstance(builder, imagenet_pi.Builder) and builder.builder_config.beta == 0.5
assert "imagenet_pi" in tfds.list_builders(with_community_datasets=False)
print("resolved", builder.info.full_name)
"""

_ORDERS = {
    "tfds_builder_imported_first": f"import {_TFDS_OWN}\n",
    "tfds_builder_looked_up_first": (
        "import tensorflow_datasets as tfds\ntfds.builder_cls('imagenet_pi')\n"
    ),
    "ours_first_then_tfds_builder": f"import imagenet_pi\nimport {_TFDS_OWN}\n",
}


@pytest.mark.parametrize("prelude", list(_ORDERS.values()), ids=list(_ORDERS))
def test_our_builder_wins_in_any_import_order(prelude, tmp_path):
    script = prelude + textwrap.dedent(_CHECK).format(data_dir=tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resolved imagenet_pi/low_noise/3.0.0" in result.stdout
