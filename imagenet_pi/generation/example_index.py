"""Which example sits at which index of a built split, known without reading any image.

TFDS writes a split's examples in the order of an md5 hash of their keys (salted with
the split name), not in file-name order; readers with random access (`tfds.data_source`,
the PyTorch dataset, grain) see that order. Samplers and torchvision habits need the
clean label of every index (`targets`) without reading 140 GB of images, and
upstream (torchvision's `ImageFolder`) order is by class, then file name.

So the builder writes, beside the shards, `example_index-<split>.npz` holding:
  clean_labels: `(num_examples,) int16`, the clean class index at each index;
  upstream_order: `(num_examples,) int32`, our index of upstream's i-th example.
Both are computed from the annotation rows (keys are file names; train clean labels
are the synset of the name, validation ones the official ground truth), in the order
TFDS's writer uses. Builds without the file (dataset versions before 3.0.0, splits
whose file names are not ILSVRC2012's) and debug builds of a few examples per split
(whose sizes do not match) have no index.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import zipfile
from collections.abc import Sequence

import numpy as np
from etils import epath

from imagenet_pi import build_checks, damaged_builds, errors, internals, synsets
from imagenet_pi.generation import record_files

logger = logging.getLogger(__name__)

_FILE = "example_index-{split}.npz"


@dataclasses.dataclass(frozen=True)
class ExampleIndex:
    """Per-index facts of a split (or of a slice of splits, in the reader's index order).

    Attributes:
      clean_labels: `(num_examples,) int64`, the clean class index at each index.
      upstream_order: `(num_examples,) int64`, indices sorted as upstream sorts them
        (by clean label, then file name): `upstream_order[i]` is our index of
        upstream's i-th example.
    """

    clean_labels: np.ndarray
    upstream_order: np.ndarray


def tfds_write_order(split: str, keys: Sequence[str]) -> np.ndarray:
    """`(len(keys),) int64`: position i holds the row of the key TFDS writes i-th."""
    return internals.write_order(split, keys)


def path(data_dir: str | os.PathLike, split: str) -> epath.Path:
    """Where the index of `split` is, in the folder of a build."""
    return epath.Path(data_dir) / _FILE.format(split=split)


def write(
    data_dir: str | os.PathLike,
    split: str,
    file_names: np.ndarray,
    order: np.ndarray | None = None,
) -> bool:
    """Writes the index of a split whose examples are keyed by `file_names` (sorted rows).

    Args:
      data_dir: the folder of the build.
      split: the split.
      file_names: `(num_rows,)` str, the keys, sorted.
      order: `(num_rows,) int64`, the row TFDS writes i-th, if already known.

    Returns False, writing nothing, when a name is not an ILSVRC2012 name: the build's
    join of images and rows then reports those rows, with its own clear error.
    """
    try:
        labels = synsets.clean_class_indices(split, file_names)
    except ValueError as error:
        logger.info("No example index for %s: %s", split, error)
        return False
    if order is None:
        order = tfds_write_order(split, file_names.tolist())
    # Our index of each row; upstream's order is by (clean label, file name).
    index_of_row = np.empty(len(order), np.int64)
    index_of_row[order] = np.arange(len(order))
    upstream_rows = np.lexsort((file_names, labels))
    with path(data_dir, split).open("wb") as file:
        np.savez(
            file,
            clean_labels=labels[order].astype(np.int16),
            upstream_order=index_of_row[upstream_rows].astype(np.int32),
        )
    return True


class ExampleIndexError(errors.ImagenetPiError, ValueError):
    """An example index that is not the one its build wrote."""


def read(
    data_dir: str | os.PathLike,
    split: str,
    num_examples: int,
    recorded: dict[str, object] | None = None,
) -> ExampleIndex | None:
    """The index of a whole split, or None if the build has none that fits `num_examples`.

    Args:
      data_dir: the folder of the build.
      split: the split.
      num_examples: the split's size in the build.
      recorded: `{"num_bytes", "sha256"}` the build recorded for the file, if it did.

    Raises:
      ExampleIndexError: the file is not the one recorded (copied from another build of
        the same size, or damaged): its labels would not be those of the examples.
      DamagedBuildError: the file is missing though the build recorded it, is a folder, is
        of another size than recorded, or cannot be read.
    """
    index_path = path(data_dir, split)
    if not index_path.exists():
        if recorded is None:
            return None
        raise damaged_builds.damaged_file_error(
            index_path, "missing: the build wrote it and recorded its size and sha256"
        )
    if index_path.is_dir():
        raise damaged_builds.damaged_file_error(
            index_path, "it is a folder, not the file the build wrote"
        )
    if recorded is not None:
        written = record_files.sha256_of(index_path)
        if written.num_bytes != recorded["num_bytes"]:
            raise damaged_builds.damaged_file_error(
                index_path,
                f"it has {written.num_bytes:,} bytes, the build recorded "
                f"{int(recorded['num_bytes']):,} (cut short, or another file)",
            )
        found = written.sha256
        if found != recorded["sha256"]:
            version_dir = index_path.parent  # <data_dir>/<dataset>/<config>/<version>
            command = damaged_builds.check_build_command(
                f"{version_dir.parent.parent.name}/{version_dir.parent.name}",
                os.fspath(version_dir.parents[2]),
            )
            raise ExampleIndexError(
                f"{index_path} is not the example index this build wrote: its sha256 is "
                f"{found}, the build recorded {recorded['sha256']}. It was copied from another "
                "build or is damaged, and its labels would not be those of the examples. Copy "
                f"it again from the same build, or build the dataset again; `{command}` checks "
                "every file."
            )
    try:
        with index_path.open("rb") as file, np.load(file) as arrays:
            index = ExampleIndex(
                arrays["clean_labels"].astype(np.int64), arrays["upstream_order"].astype(np.int64)
            )
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as error:
        raise damaged_builds.damaged_file_error(
            index_path,
            f"expected the npz of the arrays clean_labels and upstream_order, which cannot be "
            f"read from it ({type(error).__name__}: {error}; cut short?)",
        ) from error
    return index if len(index.clean_labels) == num_examples else None


def for_split_string(builder, split: str) -> ExampleIndex | None:
    """The index of any TFDS split string (`"train[:10%]"`, `"train+validation"`), in the
    order `builder.as_data_source(split)` gives; None where a split has no index.

    Its upstream order sorts the selected examples by split (in order of first
    appearance), then as upstream sorts each split.
    """
    splits = builder.info.splits
    recorded = build_checks.recorded_files(builder)
    whole: dict[str, ExampleIndex] = {}
    labels, split_ordinals, upstream_ranks = [], [], []
    for instruction in splits[split].file_instructions:
        split_name, shard = _shard_of(splits, instruction.filename)
        if split_name not in whole:
            index = read(
                builder.data_dir,
                split_name,
                splits[split_name].num_examples,
                recorded=recorded.get(path(builder.data_dir, split_name).name),
            )
            if index is None:
                return None
            whole[split_name] = index
        start = sum(splits[split_name].shard_lengths[:shard]) + instruction.skip
        span = np.arange(start, start + instruction.take)
        upstream_rank = np.empty_like(whole[split_name].upstream_order)
        upstream_rank[whole[split_name].upstream_order] = np.arange(len(upstream_rank))
        labels.append(whole[split_name].clean_labels[span])
        upstream_ranks.append(upstream_rank[span])
        split_ordinals.append(np.full(len(span), list(whole).index(split_name)))
    if not labels:
        return ExampleIndex(np.zeros(0, np.int64), np.zeros(0, np.int64))
    upstream_order = np.lexsort((np.concatenate(upstream_ranks), np.concatenate(split_ordinals)))
    return ExampleIndex(np.concatenate(labels), upstream_order.astype(np.int64))


def _shard_of(splits, filename: str) -> tuple[str, int]:
    """The split and shard number of a shard file of the build."""
    for name, split_info in splits.items():
        paths = [os.fspath(path) for path in split_info.filepaths]
        if os.fspath(filename) in paths:
            return name, paths.index(os.fspath(filename))
    raise ValueError(f"{filename} is not a shard of any split ({', '.join(splits)})")
