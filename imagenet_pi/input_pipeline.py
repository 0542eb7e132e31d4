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

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import tensorflow_datasets as tfds

from imagenet_pi import built_datasets, damaged_builds, label_policies
from imagenet_pi.pipelines import grain_threads, grain_workers, tfdata
from imagenet_pi.pipelines import options as pipeline_options
from imagenet_pi.pipelines.batches import Batches, OutputOptions, finish_batch
from imagenet_pi.pipelines.iterator_options import IteratorOptions, image_dtype, with_overrides
from imagenet_pi.pipelines.options import Backend, GrainOptions, TfDataOptions
from imagenet_pi.pipelines.raw import RawOptions

# The public API of this module (the options and the iterator live in `pipelines`).
__all__ = [
    "Backend",
    "Batches",
    "GrainOptions",
    "IteratorOptions",
    "OutputOptions",
    "TfDataOptions",
    "finish_batch",
    "make_iterator",
    "process_split",
]

if TYPE_CHECKING:
    pass


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
      FileNotFoundError, damaged_builds.DamagedBuildError: the build is not there, or
        is damaged.
    """
    import jax

    options = with_overrides(options or IteratorOptions(), overrides)
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
    damaged_builds.check_shard_files(dataset)
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
        dtype=image_dtype(options.dtype),
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
