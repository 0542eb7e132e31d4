"""Every reader of a build names a missing or damaged file of it, and the build check.

A copy of a build with one shard damaged: deleted, emptied, cut in half, cut by its last
byte, replaced by a folder, or cut where the format itself cannot tell (a TFRecord file
after a whole record; an array_record file after its first 64 KiB block, which then reads
as holding no records). Each reader (the tf.data and grain back ends, the PyTorch dataset, `stats`,
`pi_lookup`) must raise `DamagedBuildError` naming that file and the command that checks
every file of the build, whichever shard and whatever the damage.
"""

from __future__ import annotations

import json
import os
import shutil
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds
from python_process import run_to_exit

from imagenet_pi import built_datasets, cli, damaged_builds, pi_lookup
from imagenet_pi.torch_dataset import ImageNetPI

_NAME = "imagenet_pi/high_noise"
_FORMATS = ("tfrecord", "array_record")

# Which shard each damage hits: every kind of damage, on shards of both splits.
_DAMAGES = {
    "deleted": ("train", 0),
    "emptied": ("validation", 2),
    "cut_in_half": ("train", 1),
    "last_byte_cut": ("train", 2),
    "cut_at_a_boundary": ("validation", 0),
    "replaced_by_a_folder": ("train", 1),
}
# One damage a reader runs in the quick suite; all of them in the whole suite.
_QUICK_DAMAGE = "cut_in_half"


def _damages(quick: bool = True):
    return [
        pytest.param(damage, marks=() if quick and damage == _QUICK_DAMAGE else pytest.mark.slow)
        for damage in _DAMAGES
    ]


@pytest.fixture(scope="module")
def builds(small_sample, tmp_path_factory) -> dict[str, str]:
    """The small sample built as TFRecord and as array_record, three shards a split."""
    manual_dir, _ = small_sample
    data_dirs = {}
    for file_format in _FORMATS:
        data_dir = str(tmp_path_factory.mktemp(f"sharded_{file_format}"))
        builder = tfds.builder(_NAME, data_dir=data_dir, file_format=file_format)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, num_shards=3)
        )
        data_dirs[file_format] = data_dir
    return data_dirs


def _damaged_copy(builds, file_format: str, damage: str, tmp_path) -> tuple[str, str, str]:
    """A copy of the build with one shard damaged: (data_dir, shard path, its split)."""
    data_dir = str(tmp_path / "data")
    shutil.copytree(builds[file_format], data_dir)
    split, number = _DAMAGES[damage]
    builder = tfds.builder(_NAME, data_dir=data_dir)
    shard = os.fspath(builder.info.splits[split].filepaths[number])
    with open(shard, "rb") as file:
        content = file.read()
    if damage in ("deleted", "replaced_by_a_folder"):
        os.remove(shard)
        if damage == "replaced_by_a_folder":  # as a copy tool that failed half-way may leave
            os.mkdir(shard)
        return data_dir, shard, split
    kept = {
        "emptied": 0,
        "cut_in_half": len(content) // 2,
        "last_byte_cut": len(content) - 1,
        "cut_at_a_boundary": _first_boundary(content, file_format),
    }[damage]
    with open(shard, "wb") as file:
        file.write(content[:kept])
    return data_dir, shard, split


def _first_boundary(content: bytes, file_format: str) -> int:
    """Where a cut leaves a file its format reads as whole: after the first TFRecord record
    (length, length CRC, data, data CRC), or after the first 64 KiB block of array_record."""
    if file_format == "tfrecord":
        (length,) = struct.unpack("<Q", content[:8])
        return 8 + 4 + length + 4
    return 64 * 1024


def _check_names(message: str, shard: str, data_dir: str) -> None:
    assert message.startswith(f"{shard}: damaged build of {_NAME}"), message
    assert f"imagenet-pi check-build --dataset {_NAME} --data-dir {data_dir}" in message, message


@pytest.mark.parametrize("damage", _damages())
def test_the_pytorch_dataset_names_a_damaged_shard(builds, damage, tmp_path):
    data_dir, shard, split = _damaged_copy(builds, "array_record", damage, tmp_path)
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        dataset = ImageNetPI(data_dir, split=split, config="high_noise")
        for index in range(len(dataset)):
            dataset[index]
    _check_names(str(error.value), shard, data_dir)


@pytest.mark.parametrize("damage", _damages(quick=False))
def test_the_pytorch_dataset_names_a_damaged_shard_read_a_batch_at_a_time(builds, damage, tmp_path):
    data_dir, shard, split = _damaged_copy(builds, "array_record", damage, tmp_path)
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        dataset = ImageNetPI(data_dir, split=split, config="high_noise")
        dataset.__getitems__(list(range(len(dataset))))
    _check_names(str(error.value), shard, data_dir)


@pytest.mark.parametrize("file_format", _FORMATS)
@pytest.mark.parametrize("damage", _damages())
def test_stats_command_names_a_damaged_shard_in_one_line(
    builds, file_format, damage, tmp_path, capsys
):
    data_dir, shard, _ = _damaged_copy(builds, file_format, damage, tmp_path)
    argv = ["stats", "--dataset", _NAME, "--data-dir", data_dir, "--no-progress"]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imagenet-pi stats: error: "), captured.err
    _check_names(lines[0].removeprefix("imagenet-pi stats: error: "), shard, data_dir)
    assert captured.out == ""


@pytest.mark.parametrize("file_format", _FORMATS)
@pytest.mark.parametrize("damage", _damages())
def test_pi_table_from_a_build_names_a_damaged_shard(builds, file_format, damage, tmp_path):
    data_dir, shard, split = _damaged_copy(builds, file_format, damage, tmp_path)
    builder = tfds.builder(_NAME, data_dir=data_dir)
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        pi_lookup.PiTable.from_builder(builder, split)
    _check_names(str(error.value), shard, data_dir)


def test_pi_table_reads_an_array_record_build_as_it_reads_tfrecord(builds):
    tables = [
        pi_lookup.PiTable.from_builder(tfds.builder(_NAME, data_dir=builds[f]), "train")
        for f in _FORMATS
    ]
    assert len(tables[0]) == 12
    np.testing.assert_array_equal(tables[0].file_names, tables[1].file_names)
    np.testing.assert_array_equal(tables[0].annotator_labels, tables[1].annotator_labels)


# An evaluation pass over the damaged shard's split, in a process of its own (a reader
# that fails mid-pipeline must still let the process exit); prints the error's message.
_ITERATOR_SCRIPT = """
import json
from imagenet_pi import damaged_builds, input_pipeline

try:
    with input_pipeline.make_iterator(
        "{name}", "{split}", global_batch_size=8, train=False, data_dir={data_dir!r},
        image_size=16, backend="{backend}", **{backend_options}
    ) as batches:
        for batch in batches:
            pass
except damaged_builds.DamagedBuildError as error:
    print(json.dumps(str(error)), flush=True)
else:
    print(json.dumps("no error"), flush=True)
"""

_ITERATORS = {  # back end: (file format, its options)
    "tfdata": ("tfrecord", {}),
    "grain": ("array_record", {}),
    "grain_workers": ("array_record", {"worker_count": 1}),
}


@pytest.mark.slow
@pytest.mark.parametrize("iterator", list(_ITERATORS))
@pytest.mark.parametrize("damage", list(_DAMAGES))
def test_every_iterator_back_end_names_a_damaged_shard(builds, iterator, damage, tmp_path):
    file_format, backend_options = _ITERATORS[iterator]
    data_dir, shard, split = _damaged_copy(builds, file_format, damage, tmp_path)
    script = _ITERATOR_SCRIPT.format(
        name=_NAME,
        split=split,
        data_dir=data_dir,
        backend=iterator.split("_")[0],
        backend_options=backend_options,
    )
    result = run_to_exit(script)
    assert result.returncode == 0, result.stderr[-3000:]
    _check_names(json.loads(result.stdout.splitlines()[-1]), shard, data_dir)


def test_a_missing_shard_is_found_when_the_build_is_opened(builds, tmp_path):
    data_dir, shard, _ = _damaged_copy(builds, "array_record", "deleted", tmp_path)
    with pytest.raises(
        damaged_builds.DamagedBuildError, match="missing: dataset_info.json lists"
    ) as error:
        built_datasets.open_built(_NAME, data_dir)
    _check_names(str(error.value), shard, data_dir)
    # A build check, which reports every file itself, opens it all the same.
    builder = built_datasets.open_built(_NAME, data_dir, check_shards=False)
    assert builder.info.splits["train"].num_examples == 12


@pytest.mark.parametrize("file_format", _FORMATS)
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(damage, marks=() if damage in ("deleted", _QUICK_DAMAGE) else pytest.mark.slow)
        for damage in _DAMAGES
    ],
)
def test_tfds_load_names_a_damaged_shard_with_the_build_check(
    builds, file_format, damage, tmp_path
):
    # TensorFlow's NotFoundError or DataLossError ("truncated record at N") would name no
    # file, or no word of check-build; array_record would give empty records. A shard of
    # another size than the build wrote is found when the build is opened.
    data_dir, shard, split = _damaged_copy(builds, file_format, damage, tmp_path)
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        if file_format == "tfrecord":
            for _ in tfds.load(_NAME, split=split, data_dir=data_dir):
                pass
        else:
            source = tfds.data_source(_NAME, split=split, data_dir=data_dir)
            for index in range(len(source)):
                source[index]
    _check_names(str(error.value), shard, data_dir)


def test_a_cut_example_index_names_its_file(builds, tmp_path):
    data_dir = str(tmp_path / "data")
    shutil.copytree(builds["array_record"], data_dir)
    dataset = ImageNetPI(data_dir, split="train", config="high_noise")
    index_file = os.path.join(
        os.fspath(tfds.builder(_NAME, data_dir=data_dir).data_path), "example_index-train.npz"
    )
    with open(index_file, "rb") as file:
        content = file.read()
    with open(index_file, "wb") as file:
        file.write(content[: len(content) // 2])
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        dataset.targets  # noqa: B018
    _check_names(str(error.value), index_file, data_dir)
