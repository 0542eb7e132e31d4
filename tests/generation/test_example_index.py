"""The example index beside a build's shards: read only if it is the file its build recorded."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import damaged_builds
from imagenet_pi.generation import example_index

_CONFIG = "imagenet_pi/high_noise"
_VERSION = os.path.join("imagenet_pi", "high_noise", "3.0.0")


def test_an_example_index_from_another_build_is_refused_naming_it(copied_build, tmp_path):
    # An index of the same size with other labels, as another build's would be.
    version = os.path.join(copied_build, _VERSION)
    other = os.path.join(version, "example_index-train.npz")
    index = example_index.read(version, "train", 12)
    with open(other, "wb") as file:  # same size, other labels
        np.savez(
            file,
            clean_labels=index.clean_labels[::-1].astype(np.int16),
            upstream_order=index.upstream_order.astype(np.int32),
        )
    builder = tfds.builder(_CONFIG, data_dir=copied_build)
    with pytest.raises(example_index.ExampleIndexError) as error:
        example_index.for_split_string(builder, "train")
    message = str(error.value)
    assert message.startswith(f"{other} is not the example index this build wrote")
    assert f"imagenet-pi check-build --dataset {_CONFIG} --data-dir {copied_build}" in message


def test_the_example_index_a_build_wrote_is_read(built_high_noise):
    data_dir, sample = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    index = example_index.for_split_string(builder, "train")
    assert sorted(index.clean_labels.tolist()) == sorted(sample.train_clean_labels.tolist())


@pytest.mark.parametrize("damage", ["deleted", "a_folder"])
def test_an_example_index_the_build_recorded_and_lost_is_named_as_damage(copied_build, damage):
    # Not "this build has no example index" (a debug build's or an old version's words), nor
    # IsADirectoryError: the build wrote the file and recorded its sha256.
    index_file = os.path.join(copied_build, _VERSION, "example_index-train.npz")
    os.remove(index_file)
    if damage == "a_folder":
        os.mkdir(index_file)
    builder = tfds.builder(_CONFIG, data_dir=copied_build)
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        example_index.for_split_string(builder, "train")
    message = str(error.value)
    assert message.startswith(f"{index_file}: damaged build of {_CONFIG}"), message
    assert f"imagenet-pi check-build --dataset {_CONFIG} --data-dir {copied_build}" in message


def test_a_build_that_recorded_no_example_index_has_none(copied_build):
    # Builds before the index was recorded (and Beam builds) record no files: nothing to miss.
    version = os.path.join(copied_build, _VERSION)
    os.remove(os.path.join(version, "example_index-train.npz"))
    assert example_index.read(version, "train", 12) is None
