"""Batches of ImageNet-PI for JAX: images, clean labels, training labels and PI features.

One call, `make_iterator`, for training or evaluation, over one of two back ends:

- "tfdata": tf.data over the TFRecord build (file shuffling, shuffle buffer,
  repeat, parallel map, prefetch, all autotuned; deterministic by default).
- "grain": grain over the array_record build, read as a TFDS data source (what
  `tfds.data_source` returns: random access), with a global shuffle, checkpointable
  iterator state and optional worker processes. grain reads whole batches of
  records; one long-lived tf.data pipeline decodes them (or, with worker
  processes, each worker decodes its batches).

Both read this process's part of the split (`tfds.split_for_jax_process`), decode
with `preprocessing`, batch `global_batch_size / jax.process_count()` examples,
then choose labels and PI with `label_policies` and `pi_features`. A batch is a
dict of numpy arrays shaped `[num_local_devices, per_device_batch, ...]`, or of
global `jax.Array`s of shape `[global_batch_size, ...]` when given a sharding:

    image          (..., size, size, 3) float32 or bfloat16
    clean_label    (...,) int32          the ILSVRC2012 label; use it for evaluation
    label          (...,) or (..., A) int32, per the label policy
    mask           (...,) bool           False on the padding of the last eval batches
    pi_features    dict of (..., A, k) float32, see `pi_features`

Training batches repeat forever (or `num_epochs` times). Evaluation reads every
example of the process's part once, in order, and pads the last batch (mask
False); every process runs the same number of steps (`Batches.num_steps`).
"""

from __future__ import annotations

import atexit
import dataclasses
import math
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import label_policies, pi_features, preprocessing
from imagenet_pi.imagenet_pi_dataset_builder import annotator_features

if TYPE_CHECKING:
    import jax

Backend = Literal["tfdata", "grain"]

# The fields a pipeline reads from each example, besides the image.
_ANNOTATION_KEYS = ("annotator_labels", "annotator_confidences", "annotator_features")

_CLOSED = (
    "this ImageNet-PI iterator is closed (by close() or at the end of its with block): "
    "make a new one with make_iterator"
)


@dataclasses.dataclass(frozen=True)
class _Options:
    """Everything that shapes the examples, shared by both back ends."""

    train: bool
    local_batch_size: int
    image_size: int
    normalisation: str
    dtype: Any  # numpy dtype of images
    seed: int
    policy: label_policies.LabelPolicy
    labels_format: pi_features.LabelsFormat
    with_file_names: bool


# ---------------------------------------------------------------------------------------
# Which part of the split this process reads.


def process_split(
    builder: tfds.core.DatasetBuilder,
    split: str,
    process_index: int,
    process_count: int,
) -> tuple[Any, int, int]:
    """This process's sub-split, its number of examples, and the largest such number.

    Sub-splits are `tfds.split_for_jax_process`'s: contiguous, disjoint, covering
    the split, sizes differing by at most one.
    """
    parts = [
        tfds.split_for_jax_process(split, process_index=i, process_count=process_count)
        for i in range(process_count)
    ]
    sizes = [builder.info.splits[part].num_examples for part in parts]
    return parts[process_index], sizes[process_index], max(sizes)


# ---------------------------------------------------------------------------------------
# tf.data back end.


def _tf_example(
    example: dict[str, tf.Tensor], seed: tf.Tensor, epoch: tf.Tensor, options: _Options
) -> dict:
    image = preprocessing.decode_and_resize(
        example["image"], seed, train=options.train, image_size=options.image_size
    )
    image = preprocessing.normalise_image(image, options.normalisation)
    out = {key: example[key] for key in _ANNOTATION_KEYS}
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


def tfdata_batches(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: _Options,
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
        shuffle_seed=options.seed, interleave_cycle_length=16 if options.train else 1
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


# ---------------------------------------------------------------------------------------
# grain back end: a data source and transforms, each a tiny picklable class.


_RECORD_KEYS = ("file_name", "clean_label", *_ANNOTATION_KEYS)


class BatchSource:
    """grain source: item `step` is batch `step` of this process's stream, still serialized.

    Training: the stream is this process's examples in a fresh order each epoch (a
    permutation seeded by `(seed, epoch)`), `num_epochs` times (forever if None), cut into
    batches of consecutive positions; a batch may straddle two epochs, and an incomplete
    last batch is dropped. Evaluation: the examples in order, then padding (mask False)
    up to `num_steps` batches.

    An item: `record` `(B,)` object (serialized examples, b"" for padding), `mask`
    `(B,)` bool, `epoch` `(B,)` int64, and `seed` `(B, 2)` int64, `(seed, position in the
    stream)`, which seeds each example's crop and flip. Reading a whole batch per item
    keeps grain's per-record Python work (about a tenth of the CPU budget of an image)
    out of the pipeline.
    """

    def __init__(
        self,
        source: Sequence[bytes],
        *,
        batch_size: int,
        seed: int,
        train: bool,
        num_epochs: int | None,
        num_steps: int | None,
    ):
        self._source = source
        self._batch_size = batch_size
        self._seed = seed
        self._train = train
        self._num_examples = len(source)
        if not train:
            self._num_steps = num_steps
        elif num_epochs is None:
            self._num_steps = sys.maxsize
        else:
            self._num_steps = num_epochs * self._num_examples // batch_size
        self.__setstate__(self.__getstate__())

    def __getstate__(self) -> dict:  # permutations are recomputed in each process
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_permutations")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _permutations={})

    def __len__(self) -> int:
        return self._num_steps

    def __getitem__(self, step: int) -> dict:
        if not 0 <= step < self._num_steps:
            raise IndexError(f"batch {step} out of range [0, {self._num_steps})")
        num_examples = max(self._num_examples, 1)
        positions = step * self._batch_size + np.arange(self._batch_size, dtype=np.int64)
        if self._train:
            epochs, offsets = np.divmod(positions, num_examples)
            indices = np.empty_like(positions)
            for epoch in np.unique(epochs):
                where = epochs == epoch
                indices[where] = self._permutation(int(epoch))[offsets[where]]
            mask = np.ones(self._batch_size, bool)
        else:
            epochs = np.zeros_like(positions)
            mask = positions < self._num_examples
            indices = positions[mask]
        records = np.full(self._batch_size, b"", object)
        for slot, index in zip(np.flatnonzero(mask), indices.tolist()):
            records[slot] = self._source[index]
        seeds = np.stack([np.full_like(positions, self._seed), positions], axis=1)
        return {"record": records, "mask": mask, "epoch": epochs, "seed": seeds}

    def _permutation(self, epoch: int) -> np.ndarray:
        """The order of the examples in `epoch`; the two latest epochs stay cached."""
        with self._lock:
            permutation = self._permutations.get(epoch)
            if permutation is None:
                entropy = [self._seed % 2**64, epoch]
                permutation = np.random.default_rng(entropy).permutation(self._num_examples)
                if len(self._permutations) >= 2:
                    del self._permutations[min(self._permutations)]
                self._permutations[epoch] = permutation
            return permutation


def decode_or_pad(
    features: tfds.features.FeaturesDict,
    record: tf.Tensor,
    seed: tf.Tensor,
    mask: tf.Tensor,
    options: _Options,
) -> dict[str, tf.Tensor]:
    """One serialized example -> its annotations and its preprocessed, normalised image;
    a padding record (`mask` False) -> zeros and an empty file name."""

    def decode() -> dict:
        parsed = features.deserialize_example(
            record, decoders={"image": tfds.decode.SkipDecoding()}
        )
        out = {key: parsed[key] for key in _RECORD_KEYS}
        image = preprocessing.decode_and_resize(
            parsed["image"], seed, train=options.train, image_size=options.image_size
        )
        out["image"] = preprocessing.normalise_image(image, options.normalisation)
        return out

    def padding() -> dict:
        out = {key: tf.zeros(features[key].shape, features[key].tf_dtype) for key in _RECORD_KEYS}
        out["image"] = tf.zeros((options.image_size, options.image_size, 3), tf.float32)
        return out

    return tf.cond(mask, decode, padding)


class DecodeBatch:
    """Serialized records -> examples with decoded images, in one TensorFlow call a batch
    (the grain back end's worker processes).

    Parsing, decoding and normalisation run inside TensorFlow, in parallel, so the
    Python (GIL) work per image stays near zero. Padding records get zeros and empty
    file names.
    """

    def __init__(self, features: tfds.features.FeaturesDict, options: _Options):
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


class DecodedStream(Iterator[dict]):
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

    The position is the number of batches handed out: `get_state()` gives it,
    `set_state()` restarts both grain and the pipeline at that batch (a batch depends
    only on its step).
    """

    # Batches of records queued beyond the one `__next__` waits for: the pipeline
    # decodes on into them while the caller trains.
    LOOKAHEAD = 4

    def __init__(
        self,
        batches: Any,  # grain.MapDataset of BatchSource items
        features: tfds.features.FeaturesDict,
        options: _Options,
        read_threads: int,
    ):
        self._batches = batches
        self._features = features
        self._options = options
        self._read_threads = read_threads
        self._reader = self._iterator = self._queue = None
        self._start(0)

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
        self._step = self._fed = step

    def _feed(self) -> None:
        """Queues batches of records up to LOOKAHEAD beyond the `_step` first ones.

        The pipeline's batch `_step` is made of exactly the records of grain's batch
        `_step`, so once those are queued, `next(self._iterator)` cannot wait for us."""
        until = min(self._step + self.LOOKAHEAD, len(self._batches))
        while self._fed < until:
            records = next(self._reader)
            self._queue.enqueue({key: records[key] for key in ("record", "seed", "mask", "epoch")})
            self._fed += 1

    def __iter__(self) -> DecodedStream:
        return self

    def __next__(self) -> dict:
        if self._iterator is None:
            raise ValueError(_CLOSED)
        self._feed()
        batch = next(self._iterator)
        self._step += 1
        return batch

    def get_state(self) -> dict:
        """`{"step": batches handed out}`."""
        return {"step": self._step}

    def set_state(self, state: dict) -> None:
        """Continues after the `state["step"]` first batches."""
        step = state.get("step") if isinstance(state, dict) else None
        if not isinstance(step, int) or not 0 <= step <= len(self._batches):
            raise ValueError(
                f"set_state expects {{'step': n}} with 0 <= n <= {len(self._batches)}, as "
                f"get_state() of a grain iterator with worker_count=0 returns; got {state!r}. "
                "A state saved with worker_count > 0 restores only an iterator made with the "
                "same worker_count."
            )
        if self._iterator is None:
            raise ValueError(_CLOSED)
        self.close()
        self._start(step)

    def close(self) -> None:
        """Stops the pipeline (at once: nothing it runs waits for Python) and grain's
        read threads. Idempotent."""
        if self._queue is not None:
            # Fails a dequeue waiting for records (TensorFlow would log a warning
            # when cancelling it), and lets the pipeline stop.
            self._queue.close(cancel_pending_enqueues=True)
        self._iterator = self._queue = None  # TensorFlow cancels the pipeline's work
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __del__(self) -> None:
        self.close()


def grain_batches(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: _Options,
    *,
    num_steps: int | None,
    num_epochs: int | None,
    worker_count: int,
    read_threads: int,
) -> Iterator[dict]:
    """An iterator of raw batches (labels and PI not yet chosen: `finish_batch` does that
    for every back end) with `get_state`/`set_state`/`close`.

    Training: a global shuffle of this process's examples, reshuffled every epoch;
    each example's crop and flip seeded by `(seed, position in the stream)`, as in
    tf.data. Evaluation: in order, padded to `num_steps` full batches. grain's items
    are whole batches of serialized records (`BatchSource`), read by `read_threads`
    threads. Without worker processes, one tf.data pipeline of this process decodes
    them (`DecodedStream`); with `worker_count` processes, each worker decodes its
    batches, one TensorFlow call a batch (`DecodeBatch`). A batch depends only on its
    step, never on the number of threads or workers.
    """
    import grain

    source = builder.as_data_source(
        split=subsplit, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES
    )
    batches = grain.MapDataset.source(
        BatchSource(
            source,
            batch_size=options.local_batch_size,
            seed=options.seed,
            train=options.train,
            num_epochs=num_epochs,
            num_steps=num_steps,
        )
    )
    if worker_count == 0:
        return DecodedStream(batches, builder.info.features, options, read_threads)
    decode = DecodeBatch(builder.info.features, options)
    ds = batches.map(decode.map)
    # Each thread makes one batch; grain runs at most `prefetch_buffer_size` of them at once.
    ds = ds.to_iter_dataset(
        grain.ReadOptions(num_threads=read_threads, prefetch_buffer_size=max(read_threads, 2))
    )
    _parse_absl_flags()
    return FromWorkers(iter(ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))))


class FromWorkers(Iterator[dict]):
    """grain's iterator over worker processes, its batches copied out of shared memory.

    A batch still in grain's shared memory when Python exits cannot free itself
    ("Exception ignored in ... SharedMemoryArray.__del__") and leaks the block; a copy
    of a batch costs a small part of decoding it.
    """

    def __init__(self, iterator: Any):
        self._iterator = iterator

    def __iter__(self) -> FromWorkers:
        return self

    def __next__(self) -> dict:
        return _map_arrays(np.array, next(self._iterator))

    def get_state(self) -> Any:
        return self._iterator.get_state()

    def set_state(self, state: Any) -> None:
        self._iterator.set_state(state)

    def close(self) -> None:
        """Stops the worker processes (each exits once it sees the request)."""
        self._iterator.close()


def _parse_absl_flags() -> None:
    """grain's worker processes read absl flags; outside `absl.app.run` (notebooks,
    pytest, plain scripts) nothing parsed them, so mark them parsed with their defaults."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


# ---------------------------------------------------------------------------------------
# Both back ends: labels and PI, then devices.


def finish_batch(batch: dict, options: _Options) -> dict:
    """Raw batch of either back end (images already normalised) -> images of the output
    dtype, labels, PI."""
    batch = {**batch, "image": batch["image"].astype(options.dtype, copy=False)}
    batch = pi_features.label_and_pi(batch, options.policy, options.labels_format)
    if not options.with_file_names:
        batch.pop("file_name")
    return batch


def _to_devices(batch: dict, num_devices: int, sharding: jax.sharding.Sharding | None) -> dict:
    """Numpy `[num_devices, per_device, ...]`, or global `jax.Array`s on `sharding`."""
    if sharding is None:
        return _map_arrays(lambda x: x.reshape(num_devices, -1, *x.shape[1:]), batch)
    import jax

    def put(array):
        if array.dtype.kind in "SUO":  # strings stay on the host, unsharded
            return array
        return jax.make_array_from_process_local_data(sharding, array)

    return _map_arrays(put, batch)


def _map_arrays(fn, tree: dict) -> dict:
    return {
        key: _map_arrays(fn, value) if isinstance(value, dict) else fn(np.asarray(value))
        for key, value in tree.items()
    }


class Batches(Iterator[dict]):
    """The iterator `make_iterator` returns.

    Close it with `close()`, or use it as a context manager (`with make_iterator(...)
    as it:`), to stop its threads and worker processes at once; dropping it does the
    same when Python frees it, and so does the end of the process for those still open.
    Closing never waits for data. After closing, `next()` raises ValueError.

    Attributes:
      num_steps: number of batches of an evaluation pass (None for training).
      backend: "tfdata" or "grain".
    """

    def __init__(
        self,
        raw: Iterator[dict],
        *,
        backend: Backend,
        options: _Options,
        num_steps: int | None,
        num_devices: int,
        sharding: jax.sharding.Sharding | None,
    ):
        self._raw = raw
        self._options = options
        self._num_devices = num_devices
        self._sharding = sharding
        self.backend = backend
        self.num_steps = num_steps
        _close_at_exit(self)

    def __next__(self) -> dict:
        if self._raw is None:
            raise ValueError(_CLOSED)
        # Every back end gives raw batches: labels, PI and devices are one stage for all.
        batch = finish_batch(next(self._raw), self._options)
        return _to_devices(batch, self._num_devices, self._sharding)

    def __len__(self) -> int:
        if self.num_steps is None:
            raise TypeError("a training iterator has no length (it repeats)")
        return self.num_steps

    def get_state(self) -> Any:
        """The position in the data, to save with a checkpoint (grain back end only)."""
        self._require_grain("get_state")
        return self._open().get_state()

    def set_state(self, state: Any) -> None:
        """Continues from a state `get_state` returned (grain back end only)."""
        self._require_grain("set_state")
        self._open().set_state(state)

    def close(self) -> None:
        """Stops reading and decoding: threads, TensorFlow pipelines, grain worker
        processes. Returns promptly; idempotent."""
        raw, self._raw = self._raw, None
        close = getattr(raw, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _open(self) -> Iterator[dict]:
        if self._raw is None:
            raise ValueError(_CLOSED)
        return self._raw

    def _require_grain(self, what: str) -> None:
        if self.backend != "grain":
            raise NotImplementedError(
                f"{what} needs backend='grain' (checkpointable iterator state); the tf.data "
                "back end cannot save its position: use backend='grain' to resume mid-epoch."
            )


_OPEN_ITERATORS: weakref.WeakSet[Batches] = weakref.WeakSet()


def _close_at_exit(batches: Batches) -> None:
    """Closes `batches` at interpreter exit if it is still open, before Python tears
    down the modules that TensorFlow's and grain's clean-up needs."""
    _OPEN_ITERATORS.add(batches)
    # Registered last, so that it runs first among exit handlers: before
    # multiprocessing's, which would stop grain's worker processes under us.
    atexit.unregister(_close_open_iterators)
    atexit.register(_close_open_iterators)


def _close_open_iterators() -> None:
    for batches in list(_OPEN_ITERATORS):
        batches.close()


def make_iterator(
    dataset: str | tfds.core.DatasetBuilder,
    split: str,
    *,
    global_batch_size: int,
    train: bool,
    data_dir: str | None = None,
    backend: Backend = "tfdata",
    image_size: int = 224,
    dtype: Any = np.float32,
    normalise: str = "imagenet",
    label_policy: str | label_policies.LabelPolicy = "all",
    num_annotators_per_example: int | None = None,
    annotator_strategy: label_policies.Strategy = "uniform",
    redraw_each_epoch: bool = False,
    annotator_labels_format: pi_features.LabelsFormat = "one_hot",
    seed: int = 0,
    sharding: jax.sharding.Sharding | None = None,
    num_epochs: int | None = None,
    shuffle_buffer_size: int = 10_000,
    deterministic: bool = True,
    worker_count: int = 0,
    read_threads: int = 2,
    with_file_names: bool = False,
    process_index: int | None = None,
    process_count: int | None = None,
) -> Batches:
    """An iterator of ImageNet-PI batches for JAX (see the module docstring for their layout).

    Args:
      dataset: "imagenet_pi/<config>" or a built `tfds` builder. The "tfdata" back end
        reads TFRecord builds, "grain" reads array_record builds (build with
        `file_format="array_record"`).
      split: "train", "validation", or any TFDS split spec ("train[:10%]").
      global_batch_size: examples per step over all processes; divisible by the
        number of devices.
      train: random crop, flip, shuffling and repetition; else centre crop and one
        padded pass in order.
      data_dir: where the dataset is built (TFDS's default if None).
      backend: "tfdata" or "grain".
      image_size: side of the square output images.
      dtype: image dtype, e.g. np.float32 or jnp.bfloat16 / "bfloat16".
      normalise: "imagenet" (mean/std), "zero_one", "minus_one_one" or "none" (0..255).
      label_policy: "all", "subset", "random_annotator", "majority", "clean", or a
        `label_policies.LabelPolicy`.
      num_annotators_per_example: k for "subset".
      annotator_strategy: "uniform", "best" or "worst", for "subset".
      redraw_each_epoch: random policies draw annotators again each epoch (else
        each example keeps its draw for the whole run).
      annotator_labels_format: `pi_features["annotator_labels"]` as "one_hot"
        `(..., A, 1000)` or "index" `(..., A, 1)`.
      seed: seeds shuffling, augmentation and label policies; same seed, same batches.
      sharding: a `jax.sharding.Sharding` of the batch axis (e.g.
        `NamedSharding(mesh, P("data"))`): batches are then global `jax.Array`s.
        None: numpy arrays with a leading local-device axis.
      num_epochs: training epochs (None: forever).
      shuffle_buffer_size: tf.data's shuffle buffer (grain shuffles globally).
      deterministic: tf.data keeps the order fixed (a little slower).
      worker_count: grain worker processes (0: grain reads in threads of this process
        and one tf.data pipeline here decodes, the fastest; N: each worker reads and
        decodes whole batches, one TensorFlow call a batch, for hosts whose main
        process is busy).
      read_threads: grain threads each reading a batch of records, in each process.
      with_file_names: keep `file_name` `(..., ) bytes` in batches (host numpy).
      process_index, process_count: override `jax.process_index()` / `jax.process_count()`.

    Returns:
      A `Batches` iterator; `num_steps` is the length of an evaluation pass.
    """
    import jax

    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
    devices = jax.local_devices()
    if global_batch_size % (process_count * len(devices)):
        raise ValueError(
            f"global_batch_size {global_batch_size} must be divisible by the number of devices "
            f"({process_count} processes x {len(devices)} local devices)"
        )
    local_batch_size = global_batch_size // process_count
    if isinstance(dataset, str):
        file_format = "array_record" if backend == "grain" else None
        builder = tfds.builder(dataset, data_dir=data_dir, file_format=file_format)
    else:
        builder = dataset
    _check_file_format(builder, backend)
    subsplit, num_examples, max_num_examples = process_split(
        builder, split, process_index, process_count
    )
    num_steps = None if train else math.ceil(max_num_examples / local_batch_size)
    if isinstance(label_policy, str):
        label_policy = label_policies.make_policy(
            label_policy,
            k=num_annotators_per_example,
            strategy=annotator_strategy,
            annotator_features=annotator_features(builder)
            if annotator_strategy != "uniform"
            else None,
            seed=seed,
            redraw_each_epoch=redraw_each_epoch,
        )
    options = _Options(
        train=train,
        local_batch_size=local_batch_size,
        image_size=image_size,
        normalisation=normalise,
        dtype=np.dtype(dtype) if not isinstance(dtype, str) else _numpy_dtype(dtype),
        seed=seed,
        policy=label_policy,
        labels_format=annotator_labels_format,
        with_file_names=with_file_names,
    )
    preprocessing.normalise(np.zeros((1, 3), np.float32), normalise)  # fail now on a bad name
    if backend == "tfdata":
        ds = tfdata_batches(
            builder,
            subsplit,
            options,
            num_examples=num_examples,
            num_steps=num_steps,
            num_epochs=num_epochs,
            shuffle_buffer_size=shuffle_buffer_size,
            deterministic=deterministic,
        )
        raw = ds.as_numpy_iterator()
    elif backend == "grain":
        raw = grain_batches(
            builder,
            subsplit,
            options,
            num_steps=num_steps,
            num_epochs=num_epochs,
            worker_count=worker_count,
            read_threads=read_threads,
        )
    else:
        raise ValueError(f"backend must be 'tfdata' or 'grain', got {backend!r}")
    return Batches(
        raw,
        backend=backend,
        options=options,
        num_steps=num_steps,
        num_devices=len(devices),
        sharding=sharding,
    )


def _numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _check_file_format(builder: tfds.core.DatasetBuilder, backend: Backend) -> None:
    formats = {builder.info.file_format} | set(
        getattr(builder.info, "alternative_file_formats", [])
    )
    names = {getattr(f, "value", str(f)) for f in formats if f is not None}
    needed = "array_record" if backend == "grain" else "tfrecord"
    if needed not in names:
        raise ValueError(
            f"{builder.info.full_name} in {builder.data_dir} is stored as {sorted(names)}; "
            f"backend={backend!r} reads {needed}. Build it in that format: "
            f"`tfds build imagenet_pi/<config> --imports imagenet_pi --file_format={needed}` "
            f"(or download_and_prepare with file_format={needed!r}) into another data_dir."
        )
