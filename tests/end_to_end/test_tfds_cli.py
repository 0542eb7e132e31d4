"""The real `tfds build` command builds imagenet_pi once `--imports imagenet_pi` is given, and
refuses a bad config before building."""

from __future__ import annotations

import json
import os

import pytest
import tensorflow_datasets as tfds
import tfds_command

import imagenet_pi  # noqa: F401  (registers the builder for tfds.load below)
from imagenet_pi import fake_data

# A subprocess that imports TensorFlow and builds: the build itself is tested quickly elsewhere.
pytestmark = pytest.mark.slow


def test_tfds_build_command_builds_a_loadable_dataset(small_sample, tmp_path):
    manual_dir, sample = small_sample
    result = tfds_command.tfds_build("imagenet_pi/low_noise", manual_dir, str(tmp_path))
    assert result.returncode == 0, result.stderr[-4000:]
    builder = tfds.builder("imagenet_pi/low_noise", data_dir=str(tmp_path))
    assert builder.is_prepared()
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)
    assert (
        builder.info.splits["validation"].num_examples == fake_data.SMALL_SAMPLE["num_validation"]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "beta", "refusal"),
    [
        ("bad", 0, "beta must be a finite number > 0"),
        # "a/b" would be built into imagenet_pi/a/b/, which tfds.load("imagenet_pi/a/b")
        # cannot read.
        ("a/b", 0.3, "name: expected letters, digits, '_', '.' or '-'"),
    ],
)
def test_tfds_build_command_refuses_a_bad_config_before_building(
    tmp_path, small_sample, name, beta, refusal
):
    manual_dir, _ = small_sample
    config_json = json.dumps(
        {"name": name, "beta": beta, "annotations_dir": os.path.join(manual_dir, "imagenet_pi")}
    )
    result = tfds_command.tfds_build(
        "imagenet_pi", manual_dir, str(tmp_path), "--config", config_json
    )
    assert result.returncode != 0
    assert refusal in result.stderr
    assert not os.path.exists(tmp_path / "imagenet_pi" / name.split("/")[0])
