"""The join of ILSVRC2012 images with annotation rows, by file name, with nothing dropped.

Every image must have exactly one annotation row and every row exactly one image;
anything else is reported with counts and the first few names.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from imagenet_pi import annotations, errors

_SHOWN = 5


class JoinError(errors.ImagenetPiError, ValueError):
    """Images and annotation rows do not match one to one."""

    # Runners that run workers in other processes re-raise a worker's error as their own,
    # with its traceback as text. Within these markers, the message is found in that text
    # whatever the runner adds around it (and whatever module path it prints).
    MARK_START = "<<imagenet_pi join error>>"
    MARK_END = "<</imagenet_pi join error>>"

    def marked(self) -> JoinError:
        """This error with its message within the markers, to raise on a worker."""
        return JoinError(f"{self.MARK_START}{self}{self.MARK_END}")

    @classmethod
    def from_text(cls, text: str) -> JoinError | None:
        """The error whose `marked()` message is in `text` (e.g. a runner's error), if any."""
        match = re.search(re.escape(cls.MARK_START) + "(.*?)" + re.escape(cls.MARK_END), text, re.S)
        return cls(match.group(1)) if match else None


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a `Join` of some of a split's images claimed, to merge into another `Join`.

    Attributes:
      rows: `(num_claimed,) int64`, the rows claimed, in the order of the images.
      num_unannotated: images that had no row.
      unannotated: the first few of them (at most 5).
    """

    rows: np.ndarray
    num_unannotated: int
    unannotated: tuple[str, ...]


class Join:
    """Claims annotation rows for images as they stream past.

    `claim` returns the row of an image (or None when it has none, which
    `check_complete` then reports); `check_complete` raises unless every row was
    claimed exactly once. Joins of parts of a split (on other processes) are merged
    into the split's with `claims` and `absorb`.
    """

    def __init__(
        self,
        split_annotations: annotations.SplitAnnotations,
        images_source: str,
        annotations_source: str,
    ) -> None:
        self.annotations = split_annotations
        self._claimed = np.zeros(len(split_annotations), dtype=bool)
        self._claim_order: list[int] = []
        self._unannotated: list[str] = []
        self._num_unannotated = 0
        self._images_source = images_source
        self._annotations_source = annotations_source

    def claim(self, file_name: str) -> int | None:
        """The annotation row of `file_name`, or None if it has none."""
        try:
            row = self.annotations.row(file_name)  # one binary search, ~3x faster than rows()
        except KeyError:
            self._num_unannotated += 1
            if len(self._unannotated) < _SHOWN:
                self._unannotated.append(file_name)
            return None
        if self._claimed[row]:
            raise self._twice(file_name)
        self._claimed[row] = True
        self._claim_order.append(row)
        return row

    def claims(self) -> Claims:
        """The rows `claim` gave (in order) and the images it found no row for."""
        return Claims(
            np.array(self._claim_order, np.int64),
            self._num_unannotated,
            tuple(self._unannotated),
        )

    def absorb(self, claims: Claims) -> None:
        """Merges the claims of a join of other images of the split (from another process).

        Raises:
          JoinError: an image claimed there was claimed here already.
        """
        rows = claims.rows
        claimed_before = self._claimed[rows]
        if claimed_before.any():
            first = rows[np.flatnonzero(claimed_before)[0]]
            raise self._twice(str(self.annotations.file_names[first]))
        self._claimed[rows] = True
        self._num_unannotated += claims.num_unannotated
        self._unannotated.extend(claims.unannotated[: _SHOWN - len(self._unannotated)])

    def _twice(self, file_name: str) -> JoinError:
        return JoinError(
            f"{self._images_source} holds the image {file_name!r} twice; every image must "
            "appear once. The archive or folder is damaged or has copies in it."
        )

    def check_annotated(self) -> None:
        """Raises `JoinError` unless every image had a row (rows without images are fine:
        for builds that read some of the images only)."""
        self._check(rows_need_images=False)

    def check_complete(self) -> None:
        """Raises `JoinError` unless every image had a row and every row an image."""
        self._check(rows_need_images=True)

    def _check(self, rows_need_images: bool) -> None:
        problems = []
        if self._num_unannotated:
            problems.append(
                f"{self._num_unannotated} images of {self._images_source} have no row in "
                f"{self._annotations_source} (first: {', '.join(self._unannotated)})"
            )
        unclaimed = np.flatnonzero(~self._claimed) if rows_need_images else []
        if len(unclaimed):
            names = [str(self.annotations.file_names[i]) for i in unclaimed[:_SHOWN]]
            problems.append(
                f"{len(unclaimed)} rows of {self._annotations_source} have no image in "
                f"{self._images_source} (first: {', '.join(names)})"
            )
        if problems:
            raise JoinError(
                "; ".join(problems)
                + ". The images and the annotations must describe the same split: check that "
                "the archives are complete and that the CSVs belong to ILSVRC2012 (for a subset "
                "of ImageNet, relabel it with `imagenet-pi relabel`). Nothing was written as "
                "finished."
            )
