"""A built dataset against the sizes and sha256 recorded when it was built (`imagenet-pi
check-build`): every damaged, missing or unrecorded file named."""

from __future__ import annotations

import json
import os

import tensorflow_datasets as tfds

from imagenet_pi import build_checks, cli

_CONFIG = "imagenet_pi/high_noise"
_VERSION = os.path.join("imagenet_pi", "high_noise", "3.0.0")


def _check(data_dir: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["check-build", "--dataset", _CONFIG, "--data-dir", data_dir, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def _edit_json(data_dir: str, file_name: str, edit) -> None:
    """Changes the JSON file `file_name` of the build in place with `edit(content)`."""
    path = os.path.join(data_dir, _VERSION, file_name)
    with open(path) as file:
        content = json.load(file)
    edit(content)
    with open(path, "w") as file:
        json.dump(content, file)


def _shards(data_dir: str) -> list[str]:
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    return [os.fspath(path) for split in builder.info.splits.values() for path in split.filepaths]


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


def test_a_folder_in_the_place_of_a_shard_is_named_as_a_folder(copied_build, capsys):
    shard = _shards(copied_build)[0]
    os.remove(shard)
    os.mkdir(shard)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert f"{shard}: is an empty folder, not a file" in err


def test_a_build_that_recorded_no_checksums_says_so(copied_build, capsys):
    _edit_json(
        copied_build, "metadata.json", lambda content: content.pop(build_checks.METADATA_KEY)
    )
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert "records no checksums of its files" in err


def test_a_dataset_not_built_there_is_named(tmp_path, capsys):
    code, _, err = _check(str(tmp_path), capsys)
    assert code == 1
    assert "imagenet_pi/high_noise is not built in" in err


def test_a_shard_file_the_build_did_not_write_is_named(copied_build, capsys):
    # E.g. a copy of another build, cut into more shards, merged into this folder.
    shard = _shards(copied_build)[0]
    extra = shard.replace("-00000-of-00001", "-00001-of-00002")
    assert extra != shard
    with open(shard, "rb") as source, open(extra, "wb") as file:
        file.write(source.read())
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert f"{extra}: not written by this build" in err


def test_recorded_shards_that_no_split_lists_are_named(copied_build, capsys):
    # dataset_info.json changed (or from another build): its train split is gone.
    def drop_train(info):
        info["splits"] = [split for split in info["splits"] if split["name"] != "train"]

    _edit_json(copied_build, "dataset_info.json", drop_train)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert "its metadata records shards that its splits do not list (imagenet_pi-train." in err


def test_shard_lengths_changed_in_dataset_info_are_named(copied_build, capsys):
    # Readers index examples by the shard lengths of dataset_info.json (array_record's
    # random access, TFDS's split slicing): changed, they read other examples than asked.
    def shorten_train_shards(info):
        (train,) = [split for split in info["splits"] if split["name"] == "train"]
        train["shardLengths"] = [str(int(length) - 1) for length in train["shardLengths"]]

    _edit_json(copied_build, "dataset_info.json", shorten_train_shards)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert "dataset_info.json gives shard imagenet_pi-train." in err
    assert "examples where the build wrote" in err


def test_a_missing_metadata_json_is_named_as_missing(copied_build, capsys):
    metadata = os.path.join(copied_build, _VERSION, "metadata.json")
    os.remove(metadata)
    code, _, err = _check(copied_build, capsys)
    assert code == 1
    assert f"{metadata} is missing" in err
    assert "Beam" not in err
