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
_NAME = "imagenet_pi/high_noise"
_KEEP_ENCODED = {"image": tfds.decode.SkipDecoding()}


@pytest.fixture(scope="module")
def expected_examples(small_sample) -> dict[str, dict[str, dict]]:
    """split -> file name -> example, straight from the archives and the CSVs."""
    manual_dir, _ = small_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    features = annotations.read_annotator_features(config_dir)
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    expected = {}
    for split in SPLITS:
        split_annotations = annotations.read_split(config_dir, split)
        expected[split] = {}
        for record in ilsvrc.iter_split(layout, split):
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


@pytest.fixture(params=FILE_FORMATS)
def built(request, small_sample, tmp_path) -> tuple[str, str]:
    """The small sample built in each file format: (data_dir, file_format).

    TFRecord and array_record are the shared builds; parquet is built here.
    """
    shared = {
        "tfrecord": "built_high_noise",
        "array_record": "built_high_noise_array_record",
    }
    file_format = request.param
    if file_format in shared:
        data_dir, _ = request.getfixturevalue(shared[file_format])
        return data_dir, file_format
    manual_dir, _ = small_sample
    builder = tfds.builder(_NAME, data_dir=str(tmp_path), file_format=file_format)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return str(tmp_path), file_format


def _load(builder: tfds.core.DatasetBuilder, split: str, file_format: str) -> list[dict]:
    if file_format == "array_record":  # TFDS reads ArrayRecord as a data source only.
        source = builder.as_data_source(split=split, decoders=_KEEP_ENCODED)
        return [source[i] for i in range(len(source))]
    dataset = builder.as_dataset(split=split, decoders=_KEEP_ENCODED)
    return list(tfds.as_numpy(dataset))


def test_file_format_is_read_back_from_the_build(built):
    data_dir, file_format = built
    assert tfds.builder(_NAME, data_dir=data_dir).info.file_format.value == file_format


def test_file_format_builds_and_loads_every_example(built, expected_examples):
    data_dir, file_format = built
    builder = tfds.builder(_NAME, data_dir=data_dir, file_format=file_format)
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


@pytest.fixture(scope="module")
def data_sources(built_high_noise_array_record) -> dict:
    """split -> the array_record build's `tfds.data_source`."""
    data_dir, _ = built_high_noise_array_record
    return tfds.data_source(
        _NAME, data_dir=data_dir, builder_kwargs={"file_format": "array_record"}
    )


@pytest.mark.parametrize("split", SPLITS)
def test_array_record_data_source_holds_every_example(data_sources, expected_examples, split):
    source = data_sources[split]
    assert len(source) == len(expected_examples[split])
    names = sorted(source[i]["file_name"].decode() for i in range(len(source)))
    assert names == sorted(expected_examples[split])


@pytest.mark.parametrize("split", SPLITS)
def test_array_record_data_source_gives_random_access(data_sources, split):
    source = data_sources[split]
    in_order = [source[i]["file_name"] for i in range(len(source))]
    backwards = [source[i]["file_name"] for i in reversed(range(len(source)))]
    assert backwards == in_order[::-1]


def test_array_record_data_source_decodes_images_and_keeps_annotator_features(data_sources):
    last = data_sources["validation"][len(data_sources["validation"]) - 1]
    assert last["image"].ndim == 3 and last["image"].shape[-1] == 3  # decoded RGB
    assert last["annotator_features"].shape == (16, 2)


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
