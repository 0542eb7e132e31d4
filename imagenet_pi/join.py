"""The join of ILSVRC2012 images with annotation rows, by file name, with nothing dropped.

Every image must have exactly one annotation row and every row exactly one image;
anything else is reported with counts and the first few names.
"""

from __future__ import annotations

import re

import numpy as np

from imagenet_pi import annotations

_SHOWN = 5


class JoinError(ValueError):
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


class Join:
    """Claims annotation rows for images as they stream past.

    `claim` returns the row of an image (or None when it has none, which
    `check_complete` then reports); `check_complete` raises unless every row was
    claimed exactly once.
    """

    def __init__(
        self,
        split_annotations: annotations.SplitAnnotations,
        images_source: str,
        annotations_source: str,
    ) -> None:
        self.annotations = split_annotations
        self._claimed = np.zeros(len(split_annotations), dtype=bool)
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
            raise JoinError(
                f"{self._images_source} holds the image {file_name!r} twice; every image must "
                "appear once. The archive or folder is damaged or has copies in it."
            )
        self._claimed[row] = True
        return row

    def check_complete(self) -> None:
        """Raises `JoinError` unless every image had a row and every row an image."""
        problems = []
        if self._num_unannotated:
            problems.append(
                f"{self._num_unannotated} images of {self._images_source} have no row in "
                f"{self._annotations_source} (first: {', '.join(self._unannotated)})"
            )
        unclaimed = np.flatnonzero(~self._claimed)
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
