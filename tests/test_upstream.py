"""Facts about the upstream releases: the layout of a config folder, its URLs, the noise levels."""

from __future__ import annotations

import os
import re

import pytest

from imagenet_pi import fake_data, upstream


def test_a_config_folder_is_the_files_fake_data_writes(tmp_path):
    fake_data.write_sample(tmp_path, configs=["low_noise"], **fake_data.SMALL_SAMPLE)
    config_dir = tmp_path / "imagenet_pi" / "low_noise"
    written = sorted(
        os.path.relpath(os.path.join(folder, name), config_dir)
        for folder, _, names in os.walk(config_dir)
        for name in names
    )
    assert written == sorted(upstream.config_relpaths())
    assert upstream.ANNOTATOR_FEATURES_RELPATH in upstream.config_relpaths()
    assert upstream.ANNOTATOR_FEATURES_RELPATH not in upstream.split_csv_relpaths()


@pytest.mark.parametrize(
    ("kind", "split", "message"),
    [
        ("label", "train", "kind must be 'labels' or 'confidences', got 'label'"),
        ("labels", "val", "split must be one of ('train', 'validation'), got 'val'"),
    ],
)
def test_csv_relpath_refuses_an_unknown_kind_or_split_naming_it(kind, split, message):
    assert upstream.csv_relpath("confidences", "validation") == "confidences/validation.csv"
    with pytest.raises(ValueError, match=re.escape(message)):
        upstream.csv_relpath(kind, split)


def test_lfs_urls_are_under_the_repository_or_a_mirror():
    url = upstream.lfs_url("high_noise", upstream.csv_relpath("labels", "train"))
    assert url == f"{upstream.LFS_URL_ROOT}/high_noise/labels/train.csv"
    assert upstream.REPOSITORY in url
    mirror = upstream.lfs_url("low_noise", "annotator_features.csv", root="https://m.example")
    assert mirror == "https://m.example/low_noise/annotator_features.csv"


def test_noise_levels_are_named_as_their_keys_and_noisier_at_lower_beta():
    assert all(level.name == name for name, level in upstream.NOISE_LEVELS.items())
    high, low = upstream.NOISE_LEVELS["high_noise"], upstream.NOISE_LEVELS["low_noise"]
    assert high.beta < low.beta and high.expected_agreement < low.expected_agreement


def test_the_annotator_models_are_sixteen_distinct_names():
    assert len(set(upstream.ANNOTATOR_MODELS)) == upstream.NUM_ANNOTATORS == 16
