"""TFRecord written and read in Python, array_record written uncompressed, a file's sha256."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi.generation import record_files

_NAME = "imagenet_pi/high_noise"
SPLITS = ("train", "validation")


def test_array_record_shards_are_written_uncompressed(built_high_noise_array_record):
    """JPEG bytes do not compress: the builder skips array_record's default zstd, which
    only costs CPU on every random read, and keeps one record per chunk."""
    from array_record.python import array_record_module

    data_dir, _ = built_high_noise_array_record
    builder = tfds.builder(_NAME, data_dir=data_dir, file_format="array_record")
    shards = sorted(path for path in os.listdir(builder.data_dir) if ".array_record-" in path)
    assert {path.split(".")[0].split("-")[1] for path in shards} == set(SPLITS)
    for path in shards:
        reader = array_record_module.ArrayRecordReader(os.path.join(builder.data_dir, path))
        options = reader.writer_options_string().split(",")
        reader.close()
        assert "uncompressed" in options and "group_size:1" in options, (path, options)
        assert not any(option.startswith(("zstd", "brotli", "snappy")) for option in options)


_RECORDS = [b"", b"one", bytes(range(256)) * 100, b"last"]


def test_tfrecord_files_hold_the_bytes_tensorflow_writes(tmp_path):
    import tensorflow as tf  # only here: the module under test must not need it

    ours, theirs = tmp_path / "ours.tfrecord", tmp_path / "theirs.tfrecord"
    written = record_files.write_tfrecord(ours, _RECORDS)
    with tf.io.TFRecordWriter(str(theirs)) as writer:
        for record in _RECORDS:
            writer.write(record)
    content = ours.read_bytes()
    assert content == theirs.read_bytes()
    assert written == record_files.WrittenFile(len(content), hashlib.sha256(content).hexdigest())
    assert list(record_files.read_tfrecord(theirs)) == _RECORDS


def _offset_of_last_record() -> int:
    return sum(8 + 4 + len(record) + 4 for record in _RECORDS[:-1])


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        pytest.param(lambda content: content[:-2], "cut short in a record", id="cut_in_its_crc"),
        pytest.param(lambda content: content[:-10], "cut short in a record", id="cut_in_its_data"),
        pytest.param(
            lambda content: content[:-1] + bytes([content[-1] ^ 1]),
            "a record fails its checksum",
            id="a_bit_flipped",
        ),
        pytest.param(
            lambda content: content[:-20] + b"\0" + content[-19:],
            "a record header fails",
            id="its_length_changed",
        ),
    ],
)
def test_a_damaged_tfrecord_file_is_named_with_the_record_where_it_breaks(tmp_path, damage, found):
    path = tmp_path / "damaged.tfrecord"
    record_files.write_tfrecord(path, _RECORDS)
    path.write_bytes(damage(path.read_bytes()))
    records = record_files.read_tfrecord(path)
    assert [next(records) for _ in _RECORDS[:-1]] == _RECORDS[:-1]  # those before are whole
    with pytest.raises(record_files.RecordFileError) as error:
        next(records)
    assert str(error.value).startswith(f"{path} is damaged at byte {_offset_of_last_record()}: ")
    assert found in str(error.value)


def test_sha256_of_a_file_larger_than_its_read_block(tmp_path):
    content = np.random.default_rng(0).bytes(3 * (1 << 20) + 5)
    (tmp_path / "file").write_bytes(content)
    found = record_files.sha256_of(tmp_path / "file")
    assert found == record_files.WrittenFile(len(content), hashlib.sha256(content).hexdigest())
