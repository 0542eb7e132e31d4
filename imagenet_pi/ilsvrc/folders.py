"""ILSVRC2012 extracted into folders (by hand, or the Kaggle copy), read as parts.

`train/<synset>/<file>.JPEG`, and `val/<file>.JPEG` or `val/<synset>/<file>.JPEG`. Train
labels are the synset folders; validation labels are always the official ground truth
(a `val/<synset>/` folder must agree with it). A train part is one synset folder, a
validation part a run of images in file-name order. Hidden files are skipped; an image
in the wrong folder, an empty or unreadable file, and a stray folder are refused.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

from imagenet_pi import synsets
from imagenet_pi.ilsvrc import image_fixes, records
from imagenet_pi.ilsvrc.records import IlsvrcError, ImageRecord


def _visible_entries(folder: str) -> list[str]:
    """Sorted names in `folder`, without hidden files (`.DS_Store`, `._n01440764`...)."""
    try:
        return sorted(name for name in os.listdir(folder) if not name.startswith("."))
    except OSError as error:
        raise IlsvrcError(f"{folder} cannot be listed ({error}).") from error


def _read_image_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            payload = f.read()
    except OSError as error:
        raise IlsvrcError(
            f"{path} cannot be read ({type(error).__name__}: {error}); expected an image file. "
            "Check its permissions and links, or extract the archive again."
        ) from error
    if not payload:
        raise IlsvrcError(
            f"{path} is an empty file; expected an encoded image. The extraction was "
            "interrupted or the disk is full: extract the archive again."
        )
    return payload


def _folder_synset(folder: str) -> str:
    """The synset id a folder such as `.../train/n01440764` is named after."""
    name = os.path.basename(folder)
    try:
        synsets.class_index(name)
    except ValueError as error:
        raise IlsvrcError(
            f"{folder} is not a synset folder: {error} Expected only folders named after the "
            "1000 ILSVRC2012 synsets in its parent."
        ) from None
    return name


@dataclasses.dataclass(frozen=True)
class SynsetFolderPart:
    """One extracted train synset: `train/<synset>/<synset>_<n>.JPEG`."""

    folder: str

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return records.checked_records(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return self.folder

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        synset = _folder_synset(self.folder)
        for name in _visible_entries(self.folder):
            path = os.path.join(self.folder, name)
            records.check_train_synset(
                name,
                synset,
                path,
                "the folder of",
                f"Move it back to train/{name.split('_')[0]}/ or extract the archive again.",
            )
            yield path, ImageRecord(name, synset, _read_image_file(path))


@dataclasses.dataclass(frozen=True)
class ImageFilesPart:
    """A run of image files with their synsets (validation images)."""

    files: tuple[tuple[str, str], ...]  # (path, ground-truth synset)

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return records.checked_records(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return f"{self.files[0][0]}..{self.files[-1][0]}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        for path, synset in self.files:
            yield path, ImageRecord(os.path.basename(path), synset, _read_image_file(path))


def _validation_file(path: str, folder_synset: str | None) -> tuple[str, str]:
    """`(path, synset)` of a validation image, its synset from the official ground truth."""
    name = os.path.basename(path)
    records.check_name(name, path)
    try:
        synset = synsets.validation_synset(name)
    except ValueError as error:
        raise IlsvrcError(f"{path}: {error}") from None
    if folder_synset is not None and folder_synset != synset:
        raise IlsvrcError(
            f"{path} is in the folder of {folder_synset}, but the official ILSVRC2012 ground "
            f"truth labels {name} as {synset}. The val/<synset>/ folders were made with "
            "other labels: extract ILSVRC2012_img_val.tar flat into val/ instead."
        )
    return path, synset


@dataclasses.dataclass
class FolderLayout:
    """ILSVRC2012 extracted: `train/<synset>/*.JPEG`, and `val/*.JPEG` or `val/<synset>/*.JPEG`.

    Train labels are the synset folders; validation labels are always the official
    ground truth (a `val/<synset>/` folder must agree with it).
    """

    train_dir: str
    val_dir: str
    kind: str = "extracted folders"  # or "Kaggle layout", for messages

    @property
    def description(self) -> str:
        return f"ILSVRC2012 {self.kind} {self.train_dir} and {self.val_dir}"

    def location(self, split: str) -> str:
        return self.train_dir if split == "train" else self.val_dir

    def parts(self, split: str) -> list[SynsetFolderPart] | list[ImageFilesPart]:
        if split == "train":
            return self._train_parts()
        return self._validation_parts()

    def _train_parts(self) -> list[SynsetFolderPart]:
        parts = []
        for name in _visible_entries(self.train_dir):
            folder = os.path.join(self.train_dir, name)
            if not os.path.isdir(folder):
                hint = (
                    " The per-synset tars are not extracted: extract each into "
                    "train/<synset>/, or put the original ILSVRC2012_img_train.tar in "
                    "the manual_dir instead."
                    if name.endswith(".tar")
                    else ""
                )
                raise IlsvrcError(
                    f"{folder} is not a folder; {self.train_dir} must hold only synset "
                    f"folders such as n01440764/.{hint}"
                )
            _folder_synset(folder)  # a stray folder fails now, not hours into the build
            parts.append(SynsetFolderPart(folder))
        if not parts:
            raise IlsvrcError(f"{self.train_dir} holds no synset folders such as n01440764/.")
        return parts

    def _validation_parts(self) -> list[ImageFilesPart]:
        files = []
        for name in _visible_entries(self.val_dir):
            path = os.path.join(self.val_dir, name)
            if os.path.isdir(path):
                folder_synset = _folder_synset(path)
                files += [
                    _validation_file(os.path.join(path, inner), folder_synset)
                    for inner in _visible_entries(path)
                ]
            else:
                files.append(_validation_file(path, None))
        if not files:
            raise IlsvrcError(f"{self.val_dir} holds no ILSVRC2012_val_*.JPEG images.")
        files.sort(key=lambda file: os.path.basename(file[0]))
        return [ImageFilesPart(run) for run in records.runs(files, records.VALIDATION_PART_SIZE)]
