"""The grain back end without worker processes: grain reads, one tf.data pipeline of
this process decodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf
import tensorflow_datasets as tfds

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
    read_threads: int,
    identity: Mapping[str, Any],
) -> DecodedStream:
    """Raw batches; grain's items (whole batches of records) read by `read_threads`
    threads, decoded by one tf.data pipeline of this process. `identity` goes into its
    states (`grain_stream`)."""
    source = grain_source.batch_dataset(
        builder, subsplit, options, num_steps=num_steps, num_epochs=num_epochs
    )
    return DecodedStream(source, builder.info.features, options, read_threads, identity)


class DecodedStream(GrainStream):
    """grain reads, one tf.data pipeline of this process decodes: the grain back end
    without worker processes.

    grain's read threads make the batches of serialized records (`BatchSource`); a
    long-lived tf.data pipeline takes them one by one, parses, decodes, crops and
    normalises their examples in one parallel map, and batches them again. Decoding
    thus runs on from one batch into the next, as in the tf.data back end, instead of
    starting and draining a TensorFlow call per batch (which leaves cores idle at each
    batch's ends and costs the thread pool's wake-ups). The batches are the same as
    `DecodeBatch`'s in worker processes.

    The records reach the pipeline through a TensorFlow queue that `__next__` fills,
    `LOOKAHEAD` batches ahead of the batch it hands out: TensorFlow never calls back
    into Python, and no thread of ours runs. (A `tf.py_function` or
    `Dataset.from_generator` source does call back: destroying the pipeline then waits
    for a call that needs the GIL the destroying thread holds, and the process hangs.)
    Dropping or closing the stream cancels the pipeline's work at once, a dequeue
    waiting for records included.

    Position, state, close and restart are `GrainStream`'s: `set_state()` restarts
    both grain and the pipeline at the state's batch (a batch depends only on its step).
    """

    # Batches of records queued beyond the one `__next__` waits for: the pipeline
    # decodes on into them while the caller trains.
    LOOKAHEAD = 4

    def __init__(
        self,
        batches: Any,  # grain.MapDataset of BatchSource items
        features: tfds.features.FeaturesDict,
        options: RawOptions,
        read_threads: int,
        identity: Mapping[str, Any],
    ):
        self._batches = batches
        self._features = features
        self._options = options
        self._read_threads = read_threads
        self._reader = self._iterator = self._queue = None
        super().__init__(len(batches), identity)

    def _start(self, step: int) -> None:
        import grain

        threads = self._read_threads
        self._reader = iter(
            self._batches[step:].to_iter_dataset(
                grain.ReadOptions(num_threads=threads, prefetch_buffer_size=max(threads, 2))
            )
        )
        size = self._options.local_batch_size
        spec = {
            "record": tf.TensorSpec([size], tf.string),
            "seed": tf.TensorSpec([size, 2], tf.int64),
            "mask": tf.TensorSpec([size], tf.bool),
            "epoch": tf.TensorSpec([size], tf.int64),
        }
        # `_feed` never puts more than LOOKAHEAD batches beyond those handed out, so
        # the queue never fills and an enqueue never waits.
        self._queue = tf.queue.FIFOQueue(
            self.LOOKAHEAD,
            [value.dtype for value in spec.values()],
            shapes=[value.shape for value in spec.values()],
            names=list(spec),
        )
        # The pipeline's functions hold no reference to self: no cycle delays its closing.
        queue, features, options = self._queue, self._features, self._options

        def example(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            out = decode_or_pad(
                features, element["record"], element["seed"], element["mask"], options
            )
            return {**out, "mask": element["mask"], "epoch": element["epoch"]}

        ds = tf.data.Dataset.range(len(self._batches) - step).map(lambda _: queue.dequeue())
        ds = ds.unbatch().map(example, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
        tf_options = tf.data.Options()
        tf_options.deterministic = True
        tf_options.autotune.enabled = True
        self._iterator = ds.with_options(tf_options).as_numpy_iterator()
        self._fed = step

    def _feed(self) -> None:
        """Queues batches of records up to LOOKAHEAD beyond the `_step` first ones.

        The pipeline's batch `_step` is made of exactly the records of grain's batch
        `_step`, so once those are queued, `next(self._iterator)` cannot wait for us."""
        until = min(self._step + self.LOOKAHEAD, len(self._batches))
        while self._fed < until:
            records = next(self._reader)
            self._queue.enqueue({key: records[key] for key in ("record", "seed", "mask", "epoch")})
            self._fed += 1

    def _next_batch(self) -> dict:
        self._feed()
        return next(self._iterator)

    def _stop(self) -> None:
        """Stops the pipeline (at once: nothing it runs waits for Python) and grain's
        read threads."""
        if self._queue is not None:
            # Fails a dequeue waiting for records (TensorFlow would log a warning
            # when cancelling it), and lets the pipeline stop.
            self._queue.close(cancel_pending_enqueues=True)
        self._iterator = self._queue = None  # TensorFlow cancels the pipeline's work
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
