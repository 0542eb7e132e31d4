"""`imagenet-pi check-build`: a built dataset against the sizes and sha256 recorded when built."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import build_checks, cli
from imagenet_pi.generation import example_index

_CONFIG = "imagenet_pi/high_noise"
_VERSION = os.path.join("imagenet_pi", "high_noise", "3.0.0")


@pytest.fixture
def copied_build(built_high_noise, tmp_path) -> str:
    """A copy of the shared build, free to damage: its data_dir."""
    data_dir, _ = built_high_noise
    shutil.copytree(data_dir, tmp_path / "data")
    return str(tmp_path / "data")


def _check(data_dir: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["check-build", "--dataset", _CONFIG, "--data-dir", data_dir, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def _shards(data_dir: str) -> list[str]:
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    return [os.fspath(path) for split in builder.info.splits.values() for path in split.filepaths]


def test_an_intact_build_passes(copied_build, capsys):
    code, out, _ = _check(copied_build, capsys)
    assert code == 0
    assert out.strip().endswith("files match the sizes and sha256 recorded when it was built.")


def test_a_truncated_shard_is_named(copied_build, capsys):
    shard = _shards(copied_build)[-1]
    size = os.path.getsize(shard)
    with open(shard, "r+b") as file:
        file.truncate(size - 100)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert err.startswith("imagenet-pi check-build: error: 1 of the ")
    assert f"{shard}: has {size - 100:,} bytes, expected {size:,} (cut short)" in err


def test_a_flipped_bit_in_a_shard_is_named(copied_build, capsys):
    shard = _shards(copied_build)[0]
    with open(shard, "r+b") as file:
        file.seek(os.path.getsize(shard) // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0x10]))
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert f"{shard}: sha256 " in err and ", expected " in err
    assert "Copy those files again from a good copy, or build the dataset again" in err


def test_a_missing_shard_and_index_are_named(copied_build, capsys):
    shard = _shards(copied_build)[1]
    index = os.path.join(copied_build, _VERSION, "example_index-train.npz")
    os.remove(shard)
    os.remove(index)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert "2 of the " in err
    assert f"{shard}: missing" in err and f"{index}: missing" in err


def test_a_build_that_recorded_no_checksums_says_so(copied_build, capsys):
    metadata = os.path.join(copied_build, _VERSION, "metadata.json")
    with open(metadata) as file:
        content = json.load(file)
    del content[build_checks.METADATA_KEY]
    with open(metadata, "w") as file:
        json.dump(content, file)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert "records no checksums of its files" in err


def test_a_dataset_not_built_there_is_named(tmp_path, capsys):
    code, _, err = _check(str(tmp_path), capsys)
    assert code == 1
    assert "imagenet_pi/high_noise is not built in" in err


@pytest.mark.slow
def test_check_build_command_finds_a_truncated_shard(copied_build):
    shard = _shards(copied_build)[0]
    with open(shard, "r+b") as file:
        file.truncate(10)
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "imagenet-pi"),
            "check-build", "--dataset", _CONFIG, "--data-dir", copied_build,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{shard}: has 10 bytes" in result.stderr
    assert "Traceback" not in result.stderr


# The example index is tied to its build.


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
    assert "imagenet-pi check-build" in message


def test_the_example_index_a_build_wrote_is_read(built_high_noise):
    data_dir, sample = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    index = example_index.for_split_string(builder, "train")
    assert sorted(index.clean_labels.tolist()) == sorted(sample.train_clean_labels.tolist())
