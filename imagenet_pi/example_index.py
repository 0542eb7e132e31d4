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

from imagenet_pi import built_datasets, synsets, tfds_internals

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


def clean_labels_of(split: str, file_names: np.ndarray) -> np.ndarray:
    """Clean class indices of ILSVRC2012 file names, `(len(file_names),) int64`."""
    if split == "train":
        return synsets.train_class_indices(file_names)
    return synsets.validation_class_indices(list(file_names))


def tfds_write_order(split: str, keys: Sequence[str]) -> np.ndarray:
    """`(len(keys),) int64`: position i holds the row of the key TFDS writes i-th."""
    return tfds_internals.write_order(split, keys)


def write(data_dir: str | os.PathLike, split: str, file_names: np.ndarray) -> bool:
    """Writes the index of a split whose examples are keyed by `file_names` (sorted rows).

    Returns False, writing nothing, when a name is not an ILSVRC2012 name: the build's
    join of images and rows then reports those rows, with its own clear error.
    """
    try:
        labels = clean_labels_of(split, file_names)
    except ValueError as error:
        logger.info("No example index for %s: %s", split, error)
        return False
    order = tfds_write_order(split, file_names.tolist())
    # Our index of each row; upstream's order is by (clean label, file name).
    index_of_row = np.empty(len(order), np.int64)
    index_of_row[order] = np.arange(len(order))
    upstream_rows = np.lexsort((file_names, labels))
    path = epath.Path(data_dir) / _FILE.format(split=split)
    with path.open("wb") as file:
        np.savez(
            file,
            clean_labels=labels[order].astype(np.int16),
            upstream_order=index_of_row[upstream_rows].astype(np.int32),
        )
    return True


def read(data_dir: str | os.PathLike, split: str, num_examples: int) -> ExampleIndex | None:
    """The index of a whole split, or None if the build has none that fits `num_examples`."""
    path = epath.Path(data_dir) / _FILE.format(split=split)
    if not path.exists():
        return None
    try:
        with path.open("rb") as file, np.load(file) as arrays:
            index = ExampleIndex(
                arrays["clean_labels"].astype(np.int64), arrays["upstream_order"].astype(np.int64)
            )
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as error:
        raise built_datasets.damaged_file_error(
            path,
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
    whole: dict[str, ExampleIndex] = {}
    labels, split_ordinals, upstream_ranks = [], [], []
    for instruction in splits[split].file_instructions:
        split_name, shard = _shard_of(splits, instruction.filename)
        if split_name not in whole:
            index = read(builder.data_dir, split_name, splits[split_name].num_examples)
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
