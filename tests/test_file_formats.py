"""Every TFDS file format builds and loads the examples the inputs describe."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import annotations, ilsvrc, synsets

FILE_FORMATS = ("tfrecord", "array_record", "parquet")
SPLITS = ("train", "validation")
_KEEP_ENCODED = {"image": tfds.decode.SkipDecoding()}


@pytest.fixture(scope="module")
def expected_examples(small_sample) -> dict[str, dict[str, dict]]:
    """split -> file name -> example, straight from the archives and the CSVs."""
    manual_dir, _ = small_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    features = annotations.read_annotator_features(config_dir)
    source = ilsvrc.TarSource.in_dir(manual_dir)
    expected = {}
    for split in SPLITS:
        split_annotations = annotations.read_split(config_dir, split)
        expected[split] = {}
        for record in ilsvrc.iter_split(source, split):
            row = split_annotations.row(record.file_name)
            expected[split][record.file_name] = {
                "image": record.image,
                "file_name": record.file_name.encode(),
                "clean_label": synsets.class_index(record.synset),
                "annotator_labels": split_annotations.labels[row].astype(np.int64),
                "annotator_confidences": split_annotations.confidences[row],
                "annotator_features": features,
            }
    return expected


def _build(manual_dir: str, data_dir: str, file_format: str) -> tfds.core.DatasetBuilder:
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir, file_format=file_format)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def _load(builder: tfds.core.DatasetBuilder, split: str, file_format: str) -> list[dict]:
    if file_format == "array_record":  # TFDS reads ArrayRecord as a data source only.
        source = builder.as_data_source(split=split, decoders=_KEEP_ENCODED)
        return [source[i] for i in range(len(source))]
    dataset = builder.as_dataset(split=split, decoders=_KEEP_ENCODED)
    return list(tfds.as_numpy(dataset))


@pytest.mark.parametrize("file_format", FILE_FORMATS)
def test_file_format_builds_and_loads_every_example(
    small_sample, expected_examples, tmp_path, file_format
):
    manual_dir, _ = small_sample
    builder = _build(manual_dir, str(tmp_path), file_format)
    assert builder.info.file_format.value == file_format
    for split in SPLITS:
        loaded = {
            example["file_name"].decode(): example for example in _load(builder, split, file_format)
        }
        assert sorted(loaded) == sorted(expected_examples[split])
        assert builder.info.splits[split].num_examples == len(loaded)
        for name, expected in expected_examples[split].items():
            assert sorted(loaded[name]) == sorted(expected)
            for feature, value in expected.items():
                np.testing.assert_array_equal(loaded[name][feature], value, f"{name} {feature}")


def test_array_record_data_source_gives_random_access(small_sample, expected_examples, tmp_path):
    manual_dir, _ = small_sample
    _build(manual_dir, str(tmp_path), "array_record")
    sources = tfds.data_source(
        "imagenet_pi/high_noise",
        data_dir=str(tmp_path),
        builder_kwargs={"file_format": "array_record"},
    )
    for split in SPLITS:
        source = sources[split]
        assert len(source) == len(expected_examples[split])
        in_order = [source[i]["file_name"] for i in range(len(source))]
        backwards = [source[i]["file_name"] for i in reversed(range(len(source)))]
        assert backwards == in_order[::-1]
        assert sorted(name.decode() for name in in_order) == sorted(expected_examples[split])
        last = source[len(source) - 1]
        assert last["image"].ndim == 3 and last["image"].shape[-1] == 3  # decoded RGB
        assert last["annotator_features"].shape == (16, 2)


def test_array_record_shards_are_written_uncompressed(small_sample, tmp_path):
    """JPEG bytes do not compress: the builder skips array_record's default zstd, which
    only costs CPU on every random read, and keeps one record per chunk."""
    from array_record.python import array_record_module

    manual_dir, _ = small_sample
    builder = _build(manual_dir, str(tmp_path), "array_record")
    shards = sorted(path for path in os.listdir(builder.data_dir) if ".array_record-" in path)
    assert {path.split(".")[0].split("-")[1] for path in shards} == set(SPLITS)
    for path in shards:
        reader = array_record_module.ArrayRecordReader(os.path.join(builder.data_dir, path))
        options = reader.writer_options_string().split(",")
        reader.close()
        assert "uncompressed" in options and "group_size:1" in options, (path, options)
        assert not any(option.startswith(("zstd", "brotli", "snappy")) for option in options)
