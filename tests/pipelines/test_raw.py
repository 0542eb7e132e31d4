"""One serialized example -> a raw example (annotations, preprocessed image); padding -> zeros."""

from __future__ import annotations

import os

import jax_batches
import numpy as np
import tensorflow_datasets as tfds

from imagenet_pi.generation import record_files


def _decode_or_pad(builder, record: bytes, mask: bool) -> dict[str, np.ndarray]:
    import tensorflow as tf  # here, not at collection

    from imagenet_pi.pipelines import raw

    options = raw.RawOptions(
        train=False, local_batch_size=1, image_size=16, normalise="zero_one", seed=0
    )
    out = raw.decode_or_pad(
        builder.info.features,
        tf.constant(record),
        tf.constant([0, 0], tf.int64),
        tf.constant(mask),
        options,
    )
    return {key: value.numpy() for key, value in out.items()}


def _first_validation_record(builder) -> bytes:
    shard = os.fspath(builder.info.splits["validation"].filepaths[0])
    return next(record_files.read_tfrecord(shard))


def test_a_record_gives_its_annotations_and_a_normalised_image(built_high_noise):
    builder = tfds.builder(jax_batches.NAME, data_dir=built_high_noise[0])
    out = _decode_or_pad(builder, _first_validation_record(builder), mask=True)
    examples = builder.as_dataset(
        split="validation", decoders={"image": tfds.decode.SkipDecoding()}
    )
    (expected,) = [e for e in tfds.as_numpy(examples) if e["file_name"] == out["file_name"]]
    for key in ("clean_label", "annotator_labels", "annotator_confidences", "annotator_features"):
        np.testing.assert_array_equal(out[key], expected[key], key)
    assert out["image"].shape == (16, 16, 3) and out["image"].dtype == np.float32
    assert out["image"].min() >= 0 and 0 < out["image"].max() <= 1  # zero_one


def test_padding_is_zeros_and_an_empty_file_name(built_high_noise):
    builder = tfds.builder(jax_batches.NAME, data_dir=built_high_noise[0])
    out = _decode_or_pad(builder, _first_validation_record(builder), mask=False)
    assert out["file_name"] == b""
    assert out["image"].shape == (16, 16, 3) and not out["image"].any()
    for key in ("clean_label", "annotator_labels", "annotator_confidences", "annotator_features"):
        assert out[key].shape == builder.info.features[key].shape and not out[key].any(), key
