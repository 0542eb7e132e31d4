"""The real `tfds build` command builds imagenet_pi once `--imports imagenet_pi` is given, and
refuses a bad config before building."""

from __future__ import annotations

import json
import os
import pathlib
import re

import pytest
import tensorflow_datasets as tfds
import tfds_command

import imagenet_pi  # registers the builder for tfds.load below
from imagenet_pi import fake_data

# A subprocess that imports TensorFlow and builds: the build itself is tested quickly elsewhere.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def low_noise_build(small_sample, tmp_path_factory):
    """`tfds build imagenet_pi/low_noise` of the fake_data sample: (result, data_dir)."""
    manual_dir, _ = small_sample
    data_dir = str(tmp_path_factory.mktemp("tfds_cli"))
    return tfds_command.tfds_build("imagenet_pi/low_noise", manual_dir, data_dir), data_dir


def test_tfds_build_command_builds_a_loadable_dataset(low_noise_build, small_sample):
    _, sample = small_sample
    result, data_dir = low_noise_build
    assert result.returncode == 0, result.stderr[-4000:]
    builder = tfds.builder("imagenet_pi/low_noise", data_dir=data_dir)
    assert builder.is_prepared()
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)
    assert (
        builder.info.splits["validation"].num_examples == fake_data.SMALL_SAMPLE["num_validation"]
    )


def test_tfds_build_of_a_fake_data_sample_prints_no_warning_of_this_package(low_noise_build):
    # The first contact: TFDS's and TensorFlow's own lines are theirs (troubleshooting
    # explains them); none comes from a module of this package.
    result, _ = low_noise_build
    assert result.returncode == 0, result.stderr[-4000:]
    package = pathlib.Path(imagenet_pi.__file__).parent
    ours = {path.name for path in package.rglob("*.py")} - {"__init__.py"}
    warned = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        for match in [re.match(r"(WARNING|ERROR)\[([\w.]+\.py)\]", line)]
        if match and match.group(2) in ours
    ]
    assert not warned, warned
    assert "the synthetic sample of `imagenet-pi fake-data`" in result.stdout + result.stderr


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
