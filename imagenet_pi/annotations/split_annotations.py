"""`SplitAnnotations`: the 16 annotator labels and confidences of every image of one split."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from imagenet_pi import upstream
from imagenet_pi.file_names import as_str as _as_str


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SplitAnnotations:
    """The 16 annotator labels and confidences of every image of one split.

    Rows are sorted by file name and file names are unique, so a row is found
    by binary search.

    Attributes:
      file_names: (num_examples,) numpy str array ('U'), e.g. 'n02097047_2079.JPEG'.
      labels: (num_examples, 16) int16, class indices in 0..999 (sorted synset ids).
      confidences: (num_examples, 16) float32 in [0, 1], each annotator's confidence
        in the label it gave.
    """

    file_names: np.ndarray
    labels: np.ndarray
    confidences: np.ndarray

    def __post_init__(self) -> None:
        num_examples = len(self.file_names)
        shape = (num_examples, upstream.NUM_ANNOTATORS)
        if self.file_names.ndim != 1 or self.file_names.dtype.kind != "U":
            raise ValueError(f"file_names must be a 1-D str array, got {self.file_names.dtype}")
        if self.labels.shape != shape or self.confidences.shape != shape:
            raise ValueError(
                f"labels and confidences must have shape {shape}, got "
                f"{self.labels.shape} and {self.confidences.shape}"
            )

    def __len__(self) -> int:
        return len(self.file_names)

    def __repr__(self) -> str:
        span = f", {str(self.file_names[0])!r}..{str(self.file_names[-1])!r}" if len(self) else ""
        return f"SplitAnnotations({len(self)} rows{span})"

    def names(self) -> list[str]:
        """The file names as a list of Python str, in row order."""
        return self.file_names.tolist()

    def rows(self, file_names: Sequence[str] | np.ndarray) -> np.ndarray:
        """Rows of `file_names`: (len(file_names),) int64, -1 where a name is absent."""
        query = np.asarray(file_names)
        if query.dtype.kind == "S" or query.dtype == object:
            query = np.array([_as_str(name) for name in query.tolist()], dtype=str)
        query = query.astype(str, copy=False).reshape(-1)
        if len(self) == 0 or len(query) == 0:
            return np.full(len(query), -1, np.int64)
        index = np.searchsorted(self.file_names, query)
        index = np.minimum(index, len(self) - 1)
        return np.where(self.file_names[index] == query, index, -1).astype(np.int64)

    def row(self, file_name: str) -> int:
        """The row of one file name; KeyError if it has no annotations."""
        file_name = _as_str(file_name)
        index = int(np.searchsorted(self.file_names, file_name))
        if index < len(self) and self.file_names[index] == file_name:
            return index
        example = f", e.g. {str(self.file_names[0])!r}" if len(self) else ""
        raise KeyError(
            f"{file_name!r} has no ImageNet-PI annotations "
            f"({len(self)} annotated file names{example})"
        )

    def subset(self, rows: slice | Sequence[int] | np.ndarray) -> SplitAnnotations:
        """The annotations of some rows (a slice, row indices or a boolean mask).

        Rows are taken in increasing order, each once, so the result is again
        sorted by file name. Negative indices are refused (`rows()` uses -1 for
        absent names).
        """
        if isinstance(rows, slice):
            index = np.arange(len(self))[rows]
        else:
            index = np.asarray(rows)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            elif index.size and index.min() < 0:
                raise ValueError(f"row indices must be >= 0, got {int(index.min())}")
        index = np.unique(index.astype(np.int64))
        return SplitAnnotations(
            file_names=self.file_names[index],
            labels=self.labels[index],
            confidences=self.confidences[index],
        )
