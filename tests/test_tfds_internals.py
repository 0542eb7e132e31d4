"""Each TFDS internal that `imagenet_pi.tfds_internals` relies on still behaves as relied upon."""

from __future__ import annotations

import os

import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import file_utils

import imagenet_pi
from imagenet_pi import tfds_internals


def test_registered_builder_is_the_one_tfds_resolves():
    class Replacement(imagenet_pi.Builder, skip_registration=True):
        name = "imagenet_pi"

    try:
        tfds_internals.register_builder(Replacement)
        assert tfds.builder_cls("imagenet_pi") is Replacement
    finally:
        tfds_internals.register_builder(imagenet_pi.Builder)
    assert tfds.builder_cls("imagenet_pi") is imagenet_pi.Builder


def test_data_dirs_are_the_given_one_or_every_registered_one(tmp_path):
    assert tfds_internals.data_dirs(str(tmp_path)) == [tmp_path]
    extra = tmp_path / "extra"
    tfds.core.add_data_dir(str(extra))
    try:
        found = tfds_internals.data_dirs(None)
    finally:
        file_utils._REGISTERED_DATA_DIRS.discard(extra)
    assert extra in found
    assert os.path.expanduser(tfds.core.constants.DATA_DIR) in map(os.fspath, found)


def test_incomplete_dir_pattern_matches_the_folder_download_and_prepare_builds_in(tmp_path):
    version_dir = tmp_path / "imagenet_pi" / "high_noise" / "2.0.0"
    with tfds.core.utils.incomplete_dir(version_dir) as building:
        name = os.path.basename(os.path.normpath(building))
        assert os.path.dirname(os.path.normpath(building)) == os.fspath(version_dir.parent)
        assert tfds_internals.incomplete_dir_pattern("2.0.0").match(name), name
        assert not tfds_internals.incomplete_dir_pattern("1.0.0").match(name)
        assert not tfds_internals.incomplete_dir_pattern("2.0").match(name)
