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
from imagenet_pi.pipelines import grain_threads, grain_workers, tfdata
from imagenet_pi.pipelines import options as pipeline_options
from imagenet_pi.pipelines.options import GrainOptions, TfDataOptions
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
        """The position in the data, to save with a checkpoint (grain back end only):
        `{"step": batches handed out, ...}` and what decides which examples come at each
        step (dataset, split, train, seed, global_batch_size, processes, examples), plain
        values that JSON keeps."""
        self._require_grain("get_state")
        return self._open().get_state()

    def set_state(self, state: Any) -> None:
        """Continues from a state `get_state` returned (grain back end only).

        Raises ValueError, naming what differs, for a state saved from another dataset,
        split, seed, batch size, ... (`worker_count`, `read_threads` and the output
        options may differ), and for the `{"step": n}` of imagenet_pi 0.1.0."""
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

    Pass one as `make_iterator(..., options=IteratorOptions(...))`, or its fields and
    its back end's options as keyword arguments (they override `options`). Every value
    is checked on construction: a bad one raises ValueError naming it.

    Attributes:
      backend: the back end and its own options: "tfdata" or `TfDataOptions(...)`
        (tf.data, reads TFRecord builds), "grain" or `GrainOptions(...)` (grain,
        array_record builds). A name stands for that back end's default options;
        `options.backend` is always the options object (`options.backend.name` is the
        name).
      image_size: side of the square output images.
      dtype: image dtype, a floating one: np.float32, jnp.bfloat16 / "bfloat16", ...
      normalise: "imagenet" (mean/std), "zero_one", "minus_one_one" or "none" (0..255).
      label_policy: "all", "subset", "random_annotator", "majority", "clean", or a
        `label_policies.LabelPolicy`.
      num_annotators_per_example: k for "subset" (1..16); only with "subset".
      annotator_strategy: "uniform", "best" or "worst"; other than "uniform" only with
        "subset".
      redraw_each_epoch: random policies ("subset" with "uniform", "random_annotator")
        draw annotators again each epoch (else each example keeps its draw for the
        whole run); only with those.
      annotator_labels_format: `pi_features["annotator_labels"]` as "one_hot"
        `(..., A, 1000)` or "index" `(..., A, 1)`.
      seed: seeds shuffling, augmentation and label policies; same seed, same batches.
      sharding: a `jax.sharding.Sharding` of the batch axis (e.g.
        `NamedSharding(mesh, P("data"))`): batches are then global `jax.Array` values.
        None: numpy arrays with a leading local-device axis.
      num_epochs: training epochs, an integer >= 1; None: forever (the one spelling:
        tf.data's -1 is refused, as grain refuses it).
      with_file_names: keep `file_name` `(..., ) bytes` in batches (host numpy).
      process_index, process_count: override `jax.process_index()` / `jax.process_count()`.
    """

    backend: str | TfDataOptions | GrainOptions = "tfdata"
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
    with_file_names: bool = False
    process_index: int | None = None
    process_count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", pipeline_options.backend_options(self.backend))
        pipeline_options.check_int("image_size", self.image_size, 1)
        _image_dtype(self.dtype)
        pipeline_options.check_choice("normalise", self.normalise, preprocessing.NORMALISATIONS)
        self._check_label_policy()
        pipeline_options.check_choice(
            "annotator_labels_format", self.annotator_labels_format, ("one_hot", "index")
        )
        pipeline_options.check_seed("seed", self.seed)
        if self.sharding is not None:
            import jax

            if not isinstance(self.sharding, jax.sharding.Sharding):
                raise ValueError(
                    f"sharding: expected None or a jax.sharding.Sharding, found {self.sharding!r}"
                )
        if self.num_epochs is not None:
            pipeline_options.check_int("num_epochs", self.num_epochs, 1)
        pipeline_options.check_bool("with_file_names", self.with_file_names)
        if self.process_count is not None:
            pipeline_options.check_int("process_count", self.process_count, 1)
        if self.process_index is not None:
            high = None if self.process_count is None else self.process_count - 1
            pipeline_options.check_int("process_index", self.process_index, 0, high)

    def _check_label_policy(self) -> None:
        """The label policy's options: valid, and none given that the policy ignores."""
        pipeline_options.check_bool("redraw_each_epoch", self.redraw_each_epoch)
        pipeline_options.check_choice(
            "annotator_strategy", self.annotator_strategy, ("uniform", "best", "worst")
        )
        policy = self.label_policy
        if isinstance(policy, str):
            pipeline_options.check_choice("label_policy", policy, label_policies.POLICY_NAMES)
        elif not callable(getattr(policy, "select", None)):
            raise ValueError(
                f"label_policy: expected one of {label_policies.POLICY_NAMES} or a "
                f"label_policies.LabelPolicy, found {policy!r}"
            )
        subset = policy == "subset"
        if subset and self.num_annotators_per_example is None:
            raise ValueError(
                "num_annotators_per_example: label_policy 'subset' needs it (k, 1..16), found None"
            )
        ignored = []
        if self.num_annotators_per_example is not None:
            if subset:
                pipeline_options.check_int(
                    "num_annotators_per_example", self.num_annotators_per_example, 1, 16
                )
            else:
                ignored.append(f"num_annotators_per_example={self.num_annotators_per_example}")
        if self.annotator_strategy != "uniform" and not subset:
            ignored.append(f"annotator_strategy={self.annotator_strategy!r}")
        draws = policy == "random_annotator" or (subset and self.annotator_strategy == "uniform")
        if self.redraw_each_epoch and not draws:
            ignored.append("redraw_each_epoch=True")
        if ignored:
            raise ValueError(
                f"label_policy={policy!r} would ignore {', '.join(ignored)}: drop it "
                "(num_annotators_per_example and annotator_strategy are for 'subset'; "
                "redraw_each_epoch for the random draws of 'subset' with 'uniform' and of "
                "'random_annotator'; a LabelPolicy object carries its own)."
            )


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
      global_batch_size: examples per step over all processes (>= 1); divisible by the
        number of devices. Training needs at least one full batch in each process's part
        of the split (over `num_epochs` epochs).
      train: random crop, flip, shuffling and repetition; else centre crop and one
        padded pass in order.
      data_dir: where the dataset is built (TFDS's default if None).
      options: the rest (`IteratorOptions`); defaults if None.
      **overrides: fields of `IteratorOptions`, e.g. `seed=1`, and options of the back
        end (`TfDataOptions`, `GrainOptions`), e.g. `backend="grain", worker_count=2`.
        An option of the other back end raises TypeError naming it.

    Returns:
      A `Batches` iterator; `num_steps` is the length of an evaluation pass.

    Raises:
      ValueError: an option or argument out of its range, or a training split too
        small for one batch.
      TypeError: an unknown keyword, or an option of the other back end.
      FileNotFoundError, built_datasets.DamagedBuildError: the build is not there, or
        is damaged.
    """
    import jax

    options = _with_overrides(options or IteratorOptions(), overrides)
    pipeline_options.check_bool("train", train)
    global_batch_size = pipeline_options.check_int("global_batch_size", global_batch_size, 1)
    process_index = jax.process_index() if options.process_index is None else options.process_index
    process_count = jax.process_count() if options.process_count is None else options.process_count
    if not 0 <= process_index < process_count:
        raise ValueError(
            f"process_index: expected an integer in 0..{process_count - 1} (process_count "
            f"{process_count}), found {process_index}"
        )
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
    if train:
        _check_one_training_batch(
            split, num_examples, local_batch_size, options.num_epochs, process_index, process_count
        )
    num_steps = None if train else math.ceil(max_num_examples / local_batch_size)
    raw_options = RawOptions(
        train=train,
        local_batch_size=local_batch_size,
        image_size=options.image_size,
        normalise=options.normalise,
        seed=options.seed,
    )
    identity = {  # what decides which examples come at each step (grain states)
        "dataset": builder.info.full_name,
        "split": split if isinstance(split, str) else str(split),
        "train": train,
        "seed": options.seed,
        "global_batch_size": global_batch_size,
        "process_index": process_index,
        "process_count": process_count,
        "num_examples": num_examples,
    }
    raw = _raw_batches(builder, subsplit, raw_options, options, num_examples, num_steps, identity)
    return Batches(
        raw,
        backend=options.backend.name,
        options=_output_options(options, builder),
        num_steps=num_steps,
        num_devices=len(devices),
        sharding=options.sharding,
    )


def _check_one_training_batch(
    split: Any,
    num_examples: int,
    local_batch_size: int,
    num_epochs: int | None,
    process_index: int,
    process_count: int,
) -> None:
    """Training batches are whole: refuses a stream that would give none (tf.data and
    grain would silently end at once)."""
    epochs = num_epochs
    if num_examples and (epochs is None or epochs * num_examples >= local_batch_size):
        return
    where = f"split {split!r}"
    if process_count > 1:
        where = f"process {process_index}'s part of {where} (of {process_count} processes)"
    over = "forever" if epochs is None else f"over num_epochs={epochs}"
    raise ValueError(
        f"global_batch_size: training batches of {local_batch_size} examples a process "
        f"cannot be made from {where}, which holds {num_examples} examples ({over}): no "
        "batch would come. Use a smaller global_batch_size, a larger split, or more "
        "epochs (num_epochs=None repeats forever)."
    )


def _with_overrides(base: IteratorOptions, overrides: dict[str, Any]) -> IteratorOptions:
    """`base` with the fields and back-end options `overrides` names replaced."""
    fields = {field.name for field in dataclasses.fields(IteratorOptions)}
    knobs = {
        knob
        for backend in pipeline_options.BACKENDS.values()
        for knob in pipeline_options.knob_fields(backend)
    }
    unknown = sorted(set(overrides) - fields - knobs)
    if unknown:
        raise TypeError(
            f"make_iterator got unexpected keyword arguments {unknown}; expected the fields of "
            f"IteratorOptions: {sorted(fields)}, or of the back end's options: "
            f"TfDataOptions {list(pipeline_options.knob_fields(TfDataOptions))}, GrainOptions "
            f"{list(pipeline_options.knob_fields(GrainOptions))}"
        )
    common = {key: value for key, value in overrides.items() if key in fields}
    backend = common.pop("backend", base.backend)
    if isinstance(backend, str) and backend == base.backend.name:
        backend = base.backend  # the same back end: keep its options
    backend = pipeline_options.backend_options(backend)
    backend_knobs = {key: value for key, value in overrides.items() if key in knobs}
    pipeline_options.refuse_other_backends_knobs(backend_knobs, backend)
    return dataclasses.replace(
        base, backend=dataclasses.replace(backend, **backend_knobs), **common
    )


def _open(
    dataset: str | tfds.core.DatasetBuilder,
    data_dir: str | None,
    backend: TfDataOptions | GrainOptions,
) -> tfds.core.DatasetBuilder:
    """The built dataset, checked to hold the file format `backend` reads, every shard
    file there."""
    file_format = backend.file_format
    reader = f"input_pipeline's backend={backend.name!r}"
    if isinstance(dataset, str):
        return built_datasets.open_built(dataset, data_dir, file_format=file_format, reader=reader)
    built_datasets.check_file_format(dataset, file_format, reader)
    built_datasets.check_shards_exist(dataset)
    return dataset


def _output_options(options: IteratorOptions, builder: tfds.core.DatasetBuilder) -> OutputOptions:
    policy = options.label_policy
    if isinstance(policy, str):
        policy = label_policies.make_policy(
            policy,
            k=options.num_annotators_per_example,
            strategy=options.annotator_strategy,
            annotator_features=built_datasets.annotator_features_of(builder)
            if options.annotator_strategy != "uniform"
            else None,
            seed=options.seed,
            redraw_each_epoch=options.redraw_each_epoch,
        )
    return OutputOptions(
        dtype=_image_dtype(options.dtype),
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
    identity: dict[str, Any],
) -> Iterator[dict]:
    """Raw batches (`pipelines.raw`) of the chosen back end."""
    backend = options.backend
    if isinstance(backend, TfDataOptions):
        return tfdata.batches(
            builder,
            subsplit,
            raw_options,
            num_examples=num_examples,
            num_steps=num_steps,
            num_epochs=options.num_epochs,
            backend=backend,
        )
    if backend.worker_count == 0:
        return grain_threads.batches(
            builder,
            subsplit,
            raw_options,
            num_steps=num_steps,
            num_epochs=options.num_epochs,
            read_threads=backend.read_threads,
            identity=identity,
        )
    return grain_workers.batches(
        builder,
        subsplit,
        raw_options,
        num_steps=num_steps,
        num_epochs=options.num_epochs,
        worker_count=backend.worker_count,
        read_threads=backend.read_threads,
        identity=identity,
    )


def _image_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype of images: a floating dtype, "bfloat16" included; else ValueError."""
    try:
        if isinstance(dtype, str) and dtype == "bfloat16":
            import ml_dtypes

            dtype = ml_dtypes.bfloat16
        numpy_dtype = np.dtype(dtype)
    except TypeError:
        numpy_dtype = None
    if numpy_dtype is None or not (
        np.issubdtype(numpy_dtype, np.floating) or numpy_dtype.name == "bfloat16"
    ):
        raise ValueError(
            "dtype: expected a floating dtype for the images (np.float32, 'bfloat16', "
            f"jnp.bfloat16, np.float16, ...), found {dtype!r}"
        )
    return numpy_dtype
