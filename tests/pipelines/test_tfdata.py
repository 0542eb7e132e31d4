"""The tf.data back end: raw batches of a TFRecord build, in order and padded for evaluation;
a closed stream refuses the next batch."""

from __future__ import annotations

import jax_batches
import numpy as np
import pytest
import tensorflow_datasets as tfds

_RAW_KEYS = {
    "image",
    "file_name",
    "clean_label",
    "annotator_labels",
    "annotator_confidences",
    "annotator_features",
    "mask",
    "epoch",
}


def _evaluation_batches(builds, local_batch_size: int, num_steps: int):
    from imagenet_pi.pipelines import tfdata  # imports TensorFlow: here, not at collection
    from imagenet_pi.pipelines.options import TfDataOptions
    from imagenet_pi.pipelines.raw import RawOptions

    builder = tfds.builder(jax_batches.NAME, data_dir=builds["tfdata"])
    options = RawOptions(
        train=False, local_batch_size=local_batch_size, image_size=16, normalise="none", seed=0
    )
    num_examples = builder.info.splits["validation"].num_examples
    return builder, tfdata.batches(
        builder,
        "validation",
        options,
        num_examples=num_examples,
        num_steps=num_steps,
        num_epochs=None,
        backend=TfDataOptions(),
    )


def test_evaluation_batches_hold_every_example_once_in_order_then_padding(builds):
    builder, batches = _evaluation_batches(builds, local_batch_size=4, num_steps=2)
    got = list(batches)
    assert len(got) == 2 and all(set(batch) == _RAW_KEYS for batch in got)
    assert got[0]["image"].shape == (4, 16, 16, 3) and got[0]["image"].dtype == np.float32
    names = [name for batch in got for name in batch["file_name"].tolist()]
    mask = np.concatenate([batch["mask"] for batch in got])
    in_order = builder.as_dataset(
        split="validation", decoders={"image": tfds.decode.SkipDecoding()}
    )
    expected = [example["file_name"] for example in tfds.as_numpy(in_order)]
    num_padding = 2 * 4 - len(expected)
    assert 0 < num_padding < 4  # the small sample: the last batch is padded, not the first
    assert names == [*expected, *[b""] * num_padding]
    assert mask.tolist() == [True] * len(expected) + [False] * num_padding
    assert not got[1]["image"][4 - num_padding :].any()


def test_a_closed_stream_refuses_the_next_batch(builds):
    _, batches = _evaluation_batches(builds, local_batch_size=2, num_steps=3)
    next(batches)
    batches.close()
    batches.close()  # idempotent
    with pytest.raises(ValueError, match="this tf.data stream is closed"):
        next(batches)
