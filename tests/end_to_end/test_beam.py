"""Builds on Apache Beam, from Python and through the `tfds` command: the single-process
build's examples, the same join checks, and what a Beam build ignores."""

from __future__ import annotations

import os
import re

import apache_beam as beam
import numpy as np
import pytest
import tensorflow_datasets as tfds
import tfds_command
import worker_builds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import annotations
from imagenet_pi.generation import join, worker_count

_CONFIG = "high_noise"
BEAM_FLAGS = "runner=DirectRunner,direct_num_workers=2,direct_running_mode=multi_processing"


def _beam_options() -> beam.options.pipeline_options.PipelineOptions:
    return beam.options.pipeline_options.PipelineOptions(
        [f"--{flag}" for flag in BEAM_FLAGS.split(",")]
    )


def _build(manual_dir: str, data_dir: str, beam_options=None) -> tfds.core.DatasetBuilder:
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir, beam_options=beam_options
        )
    )
    return builder


def _examples_by_name(builder: tfds.core.DatasetBuilder, split: str) -> dict[str, dict]:
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    return {example["file_name"].decode(): example for example in tfds.as_numpy(dataset)}


def _assert_same_examples(built: tfds.core.DatasetBuilder, reference: tfds.core.DatasetBuilder):
    for split in ("train", "validation"):
        assert built.info.splits[split].num_examples == reference.info.splits[split].num_examples
        got, expected = _examples_by_name(built, split), _examples_by_name(reference, split)
        assert sorted(got) == sorted(expected)
        for name, expected_example in expected.items():
            assert sorted(got[name]) == sorted(expected_example)
            for feature, value in expected_example.items():
                np.testing.assert_array_equal(got[name][feature], value, f"{name} {feature}")


@pytest.fixture(scope="module")
def single_process_build(small_sample, tmp_path_factory) -> tfds.core.DatasetBuilder:
    manual_dir, _ = small_sample
    return _build(manual_dir, str(tmp_path_factory.mktemp("single_process")))


@pytest.mark.slow
def test_beam_build_from_python_holds_the_single_process_examples(
    small_sample, single_process_build, tmp_path
):
    manual_dir, _ = small_sample
    built = _build(manual_dir, str(tmp_path), beam_options=_beam_options())
    _assert_same_examples(built, single_process_build)
    assert (
        built.info.metadata["annotator_features"]
        == (single_process_build.info.metadata["annotator_features"])
    )


@pytest.mark.slow
def test_tfds_build_command_on_beam_holds_the_single_process_examples(
    small_sample, single_process_build, tmp_path
):
    manual_dir, _ = small_sample
    result = tfds_command.tfds_build(
        "imagenet_pi/high_noise", manual_dir, str(tmp_path), f"--beam_pipeline_options={BEAM_FLAGS}"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    _assert_same_examples(
        tfds.builder("imagenet_pi/high_noise", data_dir=str(tmp_path)), single_process_build
    )


def _drop_first_row_and_add_a_row(manual_dir: str, extra_name: str) -> str:
    """Rewrites the train CSVs without their first row and with a row for `extra_name`."""
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    current = annotations.read_split(config_dir, "train")
    kept = current.subset(slice(1, None))
    annotations.write_split(
        config_dir,
        "train",
        [*kept.names(), extra_name],
        np.concatenate([kept.labels, kept.labels[:1]]),
        np.concatenate([kept.confidences, kept.confidences[:1]]),
    )
    return current.names()[0]


@pytest.mark.slow
def test_beam_build_with_unmatched_images_and_rows_fails_and_leaves_no_dataset(
    fresh_sample, tmp_path
):
    manual_dir, _ = fresh_sample
    unannotated = _drop_first_row_and_add_a_row(manual_dir, extra_name="n99999999_1.JPEG")
    data_dir = str(tmp_path / "data")
    with pytest.raises(join.JoinError) as error:
        _build(manual_dir, data_dir, beam_options=_beam_options())
    message = str(error.value)
    assert re.search(
        rf"^1 images of .*ILSVRC2012_img_train.tar have no row in .*train.csv "
        rf"\(first: {re.escape(unannotated)}\)",
        message,
    ), message
    assert re.search(
        r"1 rows of .*train.csv have no image in .*\(first: n99999999_1.JPEG\)", message
    )
    assert not tfds.builder("imagenet_pi/high_noise", data_dir=data_dir).is_prepared()
    assert not os.path.exists(os.path.join(data_dir, "imagenet_pi", "high_noise", "3.0.0"))


@pytest.mark.slow
def test_beam_builds_ignore_the_environment_variable(small_sample, tmp_path, monkeypatch):
    import apache_beam as beam

    manual_dir, sample = small_sample
    monkeypatch.setenv(worker_count.ENV, "not a number")
    options = beam.options.pipeline_options.PipelineOptions(
        ["--runner=DirectRunner", "--direct_running_mode=in_memory"]
    )
    builder = worker_builds.build(manual_dir, tmp_path, workers=None, beam_options=options)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


def _read_every_item(dataset) -> list[dict]:
    return [dataset[index] for index in range(len(dataset))]


@pytest.mark.slow
def test_targets_follow_the_order_a_beam_build_writes(small_sample, tmp_path):
    import apache_beam as beam

    from imagenet_pi.torch_dataset import ImageNetPI  # imports torch: here, not at collection

    manual_dir, _ = small_sample
    builder = tfds.builder(
        f"imagenet_pi/{_CONFIG}", data_dir=str(tmp_path), file_format="array_record"
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir,
            beam_options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"]),
        )
    )
    for split in ("train", "validation"):
        dataset = ImageNetPI(str(tmp_path), split=split, config=_CONFIG, as_dict=True)
        assert dataset.targets == [item["clean_label"] for item in _read_every_item(dataset)]
