"""What the dataset says about itself: the manual-download instructions TFDS shows, the
description, homepage and citation in its info."""

from __future__ import annotations

import in_process_builds
import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import dataset_card, upstream


def test_missing_manual_dir_shows_manual_download_instructions(tmp_path):
    with pytest.raises(AssertionError, match="ILSVRC2012_img_val.tar"):
        in_process_builds.build(str(tmp_path / "nowhere"), str(tmp_path / "data"))


def test_instructions_give_each_tar_with_its_official_size():
    text = dataset_card.MANUAL_DOWNLOAD_INSTRUCTIONS
    for name, size in upstream.ILSVRC_TAR_SIZES.items():
        assert f"<manual_dir>/{name}" in text
        assert f"({size:,} bytes)" in text


def test_the_builder_info_carries_the_card(tmp_path):
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=str(tmp_path))
    # TFDS strips the texts it is given.
    assert builder.info.description == dataset_card.DESCRIPTION.strip()
    assert builder.info.homepage == dataset_card.HOMEPAGE
    assert builder.info.citation == dataset_card.CITATION.strip()
    assert builder.MANUAL_DOWNLOAD_INSTRUCTIONS == dataset_card.MANUAL_DOWNLOAD_INSTRUCTIONS
