"""The tf.data back end: tf.data over the TFRecord build.

Files shuffled and interleaved, a shuffle buffer, repeat, parallel map, prefetch, all
autotuned; deterministic by default. Nothing in the pipeline calls back into Python,
so dropping its iterator stops it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import damaged_builds, preprocessing
from imagenet_pi.pipelines.options import TfDataOptions
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
    backend: TfDataOptions,
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
        buffer_size = min(backend.shuffle_buffer_size, max(num_examples, 1))
        ds = ds.shuffle(buffer_size, seed=options.seed)
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
    tf_options.deterministic = backend.deterministic
    tf_options.autotune.enabled = True
    return ds.with_options(tf_options)


def batches(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: RawOptions,
    *,
    num_examples: int,
    num_steps: int | None,
    num_epochs: int | None,
    backend: TfDataOptions,
) -> Batches:
    """Raw batches of `dataset(...)`, as numpy."""
    ds = dataset(
        builder,
        subsplit,
        options,
        num_examples=num_examples,
        num_steps=num_steps,
        num_epochs=num_epochs,
        backend=backend,
    )
    return Batches(ds, damaged_builds.BuiltSplit.of(builder, subsplit))


class Batches(Iterator[dict]):
    """The numpy batches of a tf.data pipeline over a build; an error about a damaged
    shard (which TensorFlow reports without naming the file) becomes `DamagedBuildError`
    naming it. Closing drops the pipeline, which stops it at once."""

    def __init__(self, ds: tf.data.Dataset, built_split: damaged_builds.BuiltSplit):
        self._iterator = damaged_builds.naming_damaged_shards(ds.as_numpy_iterator(), built_split)

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> dict:
        if self._iterator is None:
            raise ValueError("this tf.data stream is closed")
        return next(self._iterator)

    def close(self) -> None:
        """Drops the pipeline (nothing in it waits for Python); idempotent."""
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            iterator.close()  # the generator's frame lets go of the pipeline now
