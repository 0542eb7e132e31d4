"""The tf.data back end: tf.data over the TFRecord build.

Files shuffled and interleaved, a shuffle buffer, repeat, parallel map, prefetch, all
autotuned; deterministic by default. Nothing in the pipeline calls back into Python,
so dropping its iterator stops it at once.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import preprocessing
from imagenet_pi.pipelines.raw import ANNOTATION_KEYS, RawOptions


def _tf_example(
    example: dict[str, tf.Tensor], seed: tf.Tensor, epoch: tf.Tensor, options: RawOptions
) -> dict:
    image = preprocessing.decode_and_resize(
        example["image"], seed, train=options.train, image_size=options.image_size
    )
    image = preprocessing.normalise_image(image, options.normalise)
    out = {key: example[key] for key in ANNOTATION_KEYS}
    out.update(
        image=image,
        file_name=example["file_name"],
        clean_label=example["clean_label"],
        epoch=epoch,
        mask=tf.constant(True),
    )
    return out


def _padding(element_spec: dict[str, tf.TensorSpec], count: int) -> tf.data.Dataset:
    """`count` all-zero examples with mask False, of the given structure."""
    zeros = {key: tf.zeros(spec.shape, spec.dtype) for key, spec in element_spec.items()}
    zeros["mask"] = tf.constant(False)
    return tf.data.Dataset.from_tensors(zeros).repeat(count)


def dataset(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: RawOptions,
    *,
    num_examples: int,
    num_steps: int | None,
    num_epochs: int | None,
    shuffle_buffer_size: int,
    deterministic: bool,
) -> tf.data.Dataset:
    """Raw batches (annotations not yet turned into labels and PI) of a tf.data pipeline.

    Training: files shuffled and interleaved, examples repeated and shuffled with
    the seed, each one's crop and flip seeded by `(seed, position in the stream)`
    and its epoch counted from that position.
    Evaluation: in order, padded to `num_steps` full batches.
    """
    read_config = tfds.ReadConfig(
        shuffle_seed=options.seed,
        interleave_cycle_length=16 if options.train else 1,
        # TFDS caches small unshuffled splits in memory; an iterator closed before the end
        # then logs a warning about the discarded cache. ImageNet's splits are never small.
        try_autocache=False,
    )
    ds = builder.as_dataset(
        split=subsplit,
        shuffle_files=options.train,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=read_config,
    )
    if options.train:
        ds = ds.repeat(num_epochs)
    # Positions in the repeated stream, taken before shuffling, give each example's epoch.
    ds = ds.enumerate()
    if options.train:
        ds = ds.shuffle(min(shuffle_buffer_size, max(num_examples, 1)), seed=options.seed)
    seed = tf.constant(options.seed, tf.int64)
    ds = ds.map(
        lambda index, example: _tf_example(
            example, tf.stack([seed, index]), index // max(num_examples, 1), options
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if not options.train:
        ds = ds.concatenate(
            _padding(ds.element_spec, num_steps * options.local_batch_size - num_examples)
        )
    ds = ds.batch(options.local_batch_size, drop_remainder=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    tf_options = tf.data.Options()
    tf_options.deterministic = deterministic
    tf_options.autotune.enabled = True
    return ds.with_options(tf_options)
