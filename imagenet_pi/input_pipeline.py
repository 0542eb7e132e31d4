"""Batches of ImageNet-PI for JAX: images, clean labels, training labels and PI features.

One call, `make_iterator`, for training or evaluation, over one of two back ends:

- "tfdata": tf.data over the TFRecord build (file shuffling, shuffle buffer,
  repeat, parallel map, prefetch, all autotuned; deterministic by default).
- "grain": grain over the array_record build, read as a TFDS data source (what
  `tfds.data_source` returns: random access), with a global shuffle, checkpointable
  iterator state and optional worker processes. grain reads whole batches of
  records; one long-lived tf.data pipeline decodes them (or, with worker
  processes, each worker decodes its batches).

Each back end is a module of `imagenet_pi.pipelines` (`tfdata`, `grain_threads`,
`grain_workers`); each reads this process's part of the split
(`tfds.split_for_jax_process`), decodes with `preprocessing` and gives raw batches of
`global_batch_size / jax.process_count()` examples (`pipelines.raw`). This module then
chooses labels and PI with `label_policies` and `pi_features` (`finish_batch`), and
places batches on devices, the same for every back end. A batch is a
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
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import tensorflow_datasets as tfds

from imagenet_pi import built_datasets, label_policies, pi_features, preprocessing
from imagenet_pi.imagenet_pi_dataset_builder import annotator_features
from imagenet_pi.pipelines import grain_threads, grain_workers, tfdata
from imagenet_pi.pipelines.raw import RawOptions

if TYPE_CHECKING:
    import jax

Backend = Literal["tfdata", "grain"]

_CLOSED = (
    "this ImageNet-PI iterator is closed (by close() or at the end of its with block): "
    "make a new one with make_iterator"
)


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """How a raw batch (`pipelines.raw`) becomes the batch `make_iterator` gives.

    Attributes:
      dtype: numpy dtype of the images (np.float32, ml_dtypes.bfloat16, ...).
      policy: which annotator labels each example gets.
      labels_format: `pi_features["annotator_labels"]` as "one_hot" or "index".
      with_file_names: keep `file_name` in batches.
    """

    dtype: np.dtype
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
# Every back end: labels and PI, then devices.


def finish_batch(batch: dict, options: OutputOptions) -> dict:
    """Raw batch of any back end (`pipelines.raw`) -> images of the output dtype, labels,
    PI (numpy, `[local_batch, ...]`)."""
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
        options: OutputOptions,
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


@dataclasses.dataclass(frozen=True)
class IteratorOptions:
    """Everything about a `make_iterator` pipeline but the data and the batch size.

    Pass one as `make_iterator(..., options=IteratorOptions(...))`, or its fields as
    keyword arguments (they override `options`).

    Attributes:
      backend: "tfdata" (reads TFRecord builds) or "grain" (array_record builds).
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
    """

    backend: Backend = "tfdata"
    image_size: int = 224
    dtype: Any = np.float32
    normalise: str = "imagenet"
    label_policy: str | label_policies.LabelPolicy = "all"
    num_annotators_per_example: int | None = None
    annotator_strategy: label_policies.Strategy = "uniform"
    redraw_each_epoch: bool = False
    annotator_labels_format: pi_features.LabelsFormat = "one_hot"
    seed: int = 0
    sharding: Any = None  # jax.sharding.Sharding | None
    num_epochs: int | None = None
    shuffle_buffer_size: int = 10_000
    deterministic: bool = True
    worker_count: int = 0
    read_threads: int = 2
    with_file_names: bool = False
    process_index: int | None = None
    process_count: int | None = None


_BACKEND_FILE_FORMATS = {"tfdata": "tfrecord", "grain": "array_record"}


def make_iterator(
    dataset: str | tfds.core.DatasetBuilder,
    split: str,
    *,
    global_batch_size: int,
    train: bool,
    data_dir: str | None = None,
    options: IteratorOptions | None = None,
    **overrides: Any,
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
      options: the rest (`IteratorOptions`); defaults if None.
      **overrides: fields of `IteratorOptions`, e.g. `backend="grain", seed=1`.

    Returns:
      A `Batches` iterator; `num_steps` is the length of an evaluation pass.
    """
    import jax

    options = _with_overrides(options or IteratorOptions(), overrides)
    if options.backend not in _BACKEND_FILE_FORMATS:
        raise ValueError(f"backend must be 'tfdata' or 'grain', got {options.backend!r}")
    preprocessing.normalise(np.zeros((1, 3), np.float32), options.normalise)  # fail early
    process_index = jax.process_index() if options.process_index is None else options.process_index
    process_count = jax.process_count() if options.process_count is None else options.process_count
    devices = jax.local_devices()
    if global_batch_size % (process_count * len(devices)):
        raise ValueError(
            f"global_batch_size {global_batch_size} must be divisible by the number of devices "
            f"({process_count} processes x {len(devices)} local devices)"
        )
    builder = _open(dataset, data_dir, options.backend)
    subsplit, num_examples, max_num_examples = process_split(
        builder, split, process_index, process_count
    )
    local_batch_size = global_batch_size // process_count
    num_steps = None if train else math.ceil(max_num_examples / local_batch_size)
    raw_options = RawOptions(
        train=train,
        local_batch_size=local_batch_size,
        image_size=options.image_size,
        normalise=options.normalise,
        seed=options.seed,
    )
    raw = _raw_batches(builder, subsplit, raw_options, options, num_examples, num_steps)
    return Batches(
        raw,
        backend=options.backend,
        options=_output_options(options, builder),
        num_steps=num_steps,
        num_devices=len(devices),
        sharding=options.sharding,
    )


def _with_overrides(options: IteratorOptions, overrides: dict[str, Any]) -> IteratorOptions:
    fields = {field.name for field in dataclasses.fields(IteratorOptions)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(
            f"make_iterator got unexpected keyword arguments {unknown}; expected the fields of "
            f"IteratorOptions: {sorted(fields)}"
        )
    return dataclasses.replace(options, **overrides)


def _open(
    dataset: str | tfds.core.DatasetBuilder, data_dir: str | None, backend: Backend
) -> tfds.core.DatasetBuilder:
    """The built dataset, checked to hold the file format `backend` reads."""
    file_format = _BACKEND_FILE_FORMATS[backend]
    reader = f"input_pipeline's backend={backend!r}"
    if isinstance(dataset, str):
        return built_datasets.open_built(dataset, data_dir, file_format=file_format, reader=reader)
    built_datasets.check_file_format(dataset, file_format, reader)
    return dataset


def _output_options(options: IteratorOptions, builder: tfds.core.DatasetBuilder) -> OutputOptions:
    policy = options.label_policy
    if isinstance(policy, str):
        policy = label_policies.make_policy(
            policy,
            k=options.num_annotators_per_example,
            strategy=options.annotator_strategy,
            annotator_features=annotator_features(builder)
            if options.annotator_strategy != "uniform"
            else None,
            seed=options.seed,
            redraw_each_epoch=options.redraw_each_epoch,
        )
    dtype = options.dtype
    return OutputOptions(
        dtype=_numpy_dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype),
        policy=policy,
        labels_format=options.annotator_labels_format,
        with_file_names=options.with_file_names,
    )


def _raw_batches(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    raw_options: RawOptions,
    options: IteratorOptions,
    num_examples: int,
    num_steps: int | None,
) -> Iterator[dict]:
    """Raw batches (`pipelines.raw`) of the chosen back end."""
    if options.backend == "tfdata":
        return tfdata.dataset(
            builder,
            subsplit,
            raw_options,
            num_examples=num_examples,
            num_steps=num_steps,
            num_epochs=options.num_epochs,
            shuffle_buffer_size=options.shuffle_buffer_size,
            deterministic=options.deterministic,
        ).as_numpy_iterator()
    if options.worker_count == 0:
        return grain_threads.batches(
            builder,
            subsplit,
            raw_options,
            num_steps=num_steps,
            num_epochs=options.num_epochs,
            read_threads=options.read_threads,
        )
    return grain_workers.batches(
        builder,
        subsplit,
        raw_options,
        num_steps=num_steps,
        num_epochs=options.num_epochs,
        worker_count=options.worker_count,
        read_threads=options.read_threads,
    )


def _numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)
