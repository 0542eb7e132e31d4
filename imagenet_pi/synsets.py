"""The ILSVRC2012 class list and the official validation ground truth.

Both tables ship with tensorflow-datasets (`datasets/imagenet2012/labels.txt`, the
1000 sorted synset ids, and `validation_labels.txt`, the synset of each
validation image in the order of the sorted file names); where TFDS keeps them, and
its list of class names, is for `internals` to know.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from etils import epath

VALIDATION_NAME_PATTERN = re.compile(r"ILSVRC2012_val_(\d{8})\.JPEG")  # whole names: fullmatch


def _tfds_table(name: str) -> list[str]:
    from imagenet_pi import internals  # imports TFDS: only when a table is first read

    return internals.imagenet2012_label_table(name).read_text().split()


def synsets_path() -> epath.Path:
    """Path of the 1000 sorted synset ids, usable as a `ClassLabel` names file."""
    from imagenet_pi import internals

    return internals.imagenet2012_label_table("labels.txt")


@functools.cache
def synsets() -> tuple[str, ...]:
    """The 1000 ILSVRC2012 synset ids, sorted: class index i is `synsets()[i]`."""
    return tuple(_tfds_table("labels.txt"))


@functools.cache
def _synset_index() -> dict[str, int]:
    return {synset: i for i, synset in enumerate(synsets())}


def class_index(synset: str) -> int:
    """Class index (0..999) of a synset id such as `n01440764`."""
    try:
        return _synset_index()[synset]
    except KeyError:
        raise ValueError(
            f"{synset!r} is not one of the 1000 ILSVRC2012 synsets (expected an id such as "
            "'n01440764')."
        ) from None


@functools.cache
def _validation_synsets() -> tuple[str, ...]:
    return tuple(_tfds_table("validation_labels.txt"))


def validation_synset(file_name: str) -> str:
    """Ground-truth synset of a validation image such as `ILSVRC2012_val_00000001.JPEG`.

    The official ground truth lists the images in file-name order, so image number k
    (1-based) is line k; this holds for any subset of the 50,000 images.
    """
    match = VALIDATION_NAME_PATTERN.fullmatch(file_name)
    truth = _validation_synsets()
    if not match or not 1 <= int(match.group(1)) <= len(truth):
        raise ValueError(
            f"{file_name!r} is not an ILSVRC2012 validation image name (expected "
            f"'ILSVRC2012_val_00000001.JPEG' ... 'ILSVRC2012_val_{len(truth):08d}.JPEG')."
        )
    return truth[int(match.group(1)) - 1]


def validation_class_indices(file_names: list[str]) -> np.ndarray:
    """Ground-truth class indices of validation images, `(len(file_names),) int64`."""
    return np.array([class_index(validation_synset(name)) for name in file_names], np.int64)


@functools.cache
def class_names() -> tuple[str, ...] | None:
    """Human-readable names of the 1000 classes (`class_names()[i]` names `synsets()[i]`).

    TFDS keeps no names file for imagenet2012; its `siscore` dataset carries the usual
    list (`internals.imagenet_class_names`). None if this TFDS version does not have it.
    """
    from imagenet_pi import internals

    names = internals.imagenet_class_names()
    return names if names is not None and len(names) == len(synsets()) else None


def train_class_indices(file_names: np.ndarray | list[str]) -> np.ndarray:
    """Class indices of train images named `<synset>_<n>.JPEG`, `(len(file_names),) int64`.

    Vectorised over the distinct synsets, so 1.28M names take well under a second.
    """
    names = np.asarray(file_names, dtype=str)
    # Synset ids are 'n' + 8 digits: the 10th character of a train name is the underscore.
    prefixes = names.astype("U10")
    well_formed = np.char.endswith(prefixes, "_") & np.char.startswith(prefixes, "n")
    if not well_formed.all():
        bad = str(names[np.flatnonzero(~well_formed)[0]])
        raise ValueError(
            f"{bad!r} is not an ILSVRC2012 train image name (expected '<synset>_<n>.JPEG', "
            "such as 'n01440764_10026.JPEG')."
        )
    distinct, inverse = np.unique(prefixes, return_inverse=True)
    indices = np.array([class_index(prefix[:-1]) for prefix in distinct.tolist()], np.int64)
    return indices[inverse.reshape(-1)]


def clean_class_indices(split: str, file_names: np.ndarray | list[str]) -> np.ndarray:
    """The clean labels of ILSVRC2012 images of `split` from their file names, `(N,) int64`.

    Train names carry their synset (`n01440764_123.JPEG`); validation names are looked up in
    the official ground truth that TFDS ships.

    Raises:
      ValueError: a name is not an ILSVRC2012 name of that split, or the split is unknown.
    """
    if split == "train":
        return train_class_indices(file_names)
    if split == "validation":
        return validation_class_indices(list(file_names))
    raise ValueError(f"split: expected 'train' or 'validation', found {split!r}")
