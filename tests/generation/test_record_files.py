"""TFRecord written and read in Python, array_record written uncompressed, a file's sha256."""

from __future__ import annotations

import os

import tensorflow_datasets as tfds

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
