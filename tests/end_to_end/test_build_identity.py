"""The `tfds build` command builds a name again only as it was built: a debug build, a
`max_examples_per_split` below 1 and a name built from other CSVs are refused."""

from __future__ import annotations

import json

import identity_builds
import pytest
import tfds_command

_NAME = "imagenet_pi/high_noise"


@pytest.mark.slow
def test_tfds_build_without_the_flag_after_a_debug_build_is_refused_naming_the_flag(
    small_sample, tmp_path
):
    manual_dir, _ = small_sample
    debug = tfds_command.tfds_build(
        _NAME, manual_dir, str(tmp_path), "--max_examples_per_split", "2"
    )
    assert debug.returncode == 0, debug.stderr[-4000:]
    full = tfds_command.tfds_build(_NAME, manual_dir, str(tmp_path))
    assert full.returncode != 0
    assert "max_examples_per_split: built with 2 (a debug build), asked for none" in full.stderr
    assert "--max_examples_per_split 2" in full.stderr and "--overwrite" in full.stderr
    assert "Reusing dataset" not in full.stderr
    assert identity_builds.sizes(_NAME, tmp_path) == {"train": 2, "validation": 2}


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0", "-1"])
def test_tfds_build_refuses_max_examples_per_split_below_1_writing_nothing(
    small_sample, tmp_path, value
):
    manual_dir, _ = small_sample
    data_dir = tmp_path / "data"
    result = tfds_command.tfds_build(
        _NAME, manual_dir, str(data_dir), "--max_examples_per_split", value
    )
    assert result.returncode != 0
    assert (
        "max_examples_per_split (--max_examples_per_split): expected an integer >= 1"
        in result.stderr
    )
    assert f"found {value}" in result.stderr
    assert not data_dir.exists()


@pytest.mark.slow
def test_tfds_build_of_a_name_built_from_other_csvs_is_refused_naming_both(
    relabelled_twice, built_from_a
):
    manual_dir, folder_a, folder_b = relabelled_twice
    labels_of_a = identity_builds.labels("imagenet_pi/beta_0.3", built_from_a)
    config_json = json.dumps({"name": "beta_0.3", "beta": 0.3, "annotations_dir": folder_b})
    result = tfds_command.tfds_build(
        "imagenet_pi", manual_dir, built_from_a, "--config", config_json
    )
    assert result.returncode != 0
    assert (
        f"annotations: built from {folder_a} (relabel seed 0), asked for {folder_b} "
        "(relabel seed 1)" in result.stderr
    )
    assert "another config name" in result.stderr and "Reusing dataset" not in result.stderr
    assert identity_builds.labels("imagenet_pi/beta_0.3", built_from_a) == labels_of_a
