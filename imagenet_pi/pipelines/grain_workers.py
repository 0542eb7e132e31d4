"""The grain back end with worker processes: each worker reads and decodes whole
batches, one TensorFlow call a batch (`DecodeBatch`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import internals
from imagenet_pi.pipelines import grain_source
from imagenet_pi.pipelines.grain_stream import GrainStream
from imagenet_pi.pipelines.raw import RawOptions, decode_or_pad


def batches(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: RawOptions,
    *,
    num_steps: int | None,
    num_epochs: int | None,
    worker_count: int,
    read_threads: int,
    identity: Mapping[str, Any],
) -> FromWorkers:
    """Raw batches made by `worker_count` processes, each reading with `read_threads`
    threads. `identity` goes into its states (`grain_stream`)."""
    source = grain_source.batch_dataset(
        builder, subsplit, options, num_steps=num_steps, num_epochs=num_epochs
    )
    decode = DecodeBatch(builder.info.features, options)
    return FromWorkers(source.map(decode.map), worker_count, read_threads, identity)


class DecodeBatch:
    """Serialized records -> examples with decoded images, in one TensorFlow call a batch
    (the grain back end's worker processes).

    Parsing, decoding and normalisation run inside TensorFlow, in parallel, so the
    Python (GIL) work per image stays near zero. Padding records get zeros and empty
    file names.
    """

    def __init__(self, features: tfds.features.FeaturesDict, options: RawOptions):
        self._features = features
        self._options = options
        self._lock = threading.Lock()
        self._fn = None

    _PICKLED = ("_features", "_options")

    def __getstate__(self) -> dict:  # the traced function stays in its process
        return {key: getattr(self, key) for key in self._PICKLED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _fn=None)

    def _decode_fn(self):
        # Traced once under a lock: threads that trace one tf.function together each trace it.
        with self._lock:
            if self._fn is None:
                self._fn = tf.function(
                    self._decode,
                    input_signature=[
                        tf.TensorSpec([None], tf.string),
                        tf.TensorSpec([None, 2], tf.int64),
                        tf.TensorSpec([None], tf.bool),
                    ],
                ).get_concrete_function()
            return self._fn

    def _decode(self, records: tf.Tensor, seeds: tf.Tensor, mask: tf.Tensor) -> dict:
        ds = tf.data.Dataset.from_tensor_slices((records, seeds, mask))
        ds = ds.map(
            lambda record, seed, keep: decode_or_pad(
                self._features, record, seed, keep, self._options
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.batch(tf.cast(tf.size(records), tf.int64)).get_single_element()

    def map(self, batch: dict) -> dict:
        decoded = self._decode_fn()(
            tf.constant(list(batch["record"]), tf.string),
            tf.constant(batch["seed"]),
            tf.constant(batch["mask"]),
        )
        # np.asarray views TensorFlow's buffers (read-only); Tensor.numpy() would copy them.
        out = {key: np.asarray(value) for key, value in decoded.items()}
        return {**out, "mask": batch["mask"], "epoch": batch["epoch"]}


class FromWorkers(GrainStream):
    """Decoded batches from grain's worker processes, copied out of shared memory.

    A batch still in grain's shared memory when Python exits cannot free itself
    ("Exception ignored in ... SharedMemoryArray.__del__") and leaks the block; a copy
    of a raw batch costs a small part of decoding it.

    Position, state, close and restart are `GrainStream`'s, as without workers:
    `set_state()` restarts the workers at the state's batch (a batch depends only on its
    step).
    """

    def __init__(
        self, batches: Any, worker_count: int, read_threads: int, identity: Mapping[str, Any]
    ):
        self._batches = batches  # grain.MapDataset of decoded batches
        self._worker_count = worker_count
        self._read_threads = read_threads
        self._iterator = None
        super().__init__(len(batches), identity)

    def _start(self, step: int) -> None:
        import grain

        threads = self._read_threads
        # Each thread makes one batch; grain runs at most `prefetch_buffer_size` of them at once.
        ds = self._batches[step:].to_iter_dataset(
            grain.ReadOptions(num_threads=threads, prefetch_buffer_size=max(threads, 2))
        )
        _parse_absl_flags()
        workers = grain.MultiprocessingOptions(num_workers=self._worker_count)
        self._iterator = iter(ds.mp_prefetch(workers))

    def _next_batch(self) -> dict:
        batch = next(self._iterator)
        copy = {key: np.array(value) for key, value in batch.items()}
        for value in batch.values():
            # Freed now: grain frees it later in a thread of its own, and a block still
            # waiting there at exit makes multiprocessing's resource tracker warn.
            internals.free_grain_shared_memory(value)
        return copy

    def _stop(self) -> None:
        """Stops the worker processes (each exits once it sees the request)."""
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            iterator.close()


def _parse_absl_flags() -> None:
    """grain reads absl flags in this process when it starts worker processes; outside
    `absl.app.run` (notebooks, pytest, plain scripts) nothing parsed them, so mark them
    parsed with their defaults. Only this back end does it (documented in the README):
    a later `FLAGS(argv)` of yours still parses the command line."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
