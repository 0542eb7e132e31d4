"""An `imagenet2012` that TFDS already prepared, read in place of the tars.

It sits at `<manual_dir>/imagenet2012/<version>/` (or `<manual_dir>/imagenet2012/` links
straight to a version folder). The newest complete version is read; a newer one that is
half copied or unusable is skipped with a warning saying what it lacks. A part is one
tfrecord file; its examples are parsed by `internals.imagenet2012_record` (TFDS's
on-disk encoding), and their labels are checked against their names and the official
validation ground truth.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterator

from imagenet_pi import synsets, upstream
from imagenet_pi.generation import record_files
from imagenet_pi.ilsvrc import image_fixes, records
from imagenet_pi.ilsvrc.records import IlsvrcError, ImageRecord

logger = logging.getLogger(__name__)

IMAGENET2012 = "imagenet2012"
_PREPARED_SPLITS = {"train": "train", "validation": "validation"}


@dataclasses.dataclass(frozen=True)
class TfrecordPart:
    """One tfrecord file of a prepared imagenet2012 (image bytes, label, file_name)."""

    path: str
    label_synsets: tuple[str, ...]  # the dataset's label names: synset of label i

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return records.checked_records(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return self.path

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        from imagenet_pi import internals  # imports TFDS, which only this layout needs

        # Records read in Python (CRC-checked), not by TensorFlow: build workers are forked
        # and must not call TensorFlow. Parsed with protobuf, ~5x faster here than tf.data
        # + tf.io.parse_example, whose per-batch overhead dominates.
        try:
            for serialized in record_files.read_tfrecord(self.path):
                name, label, image = internals.imagenet2012_record(serialized)
                where = f"{self.path}: example {name!r}"
                if not 0 <= label < len(self.label_synsets):
                    raise IlsvrcError(f"{where} has label {label}, not a class index.")
                if not image:
                    raise IlsvrcError(f"{where} has an empty image; prepare imagenet2012 again.")
                synset = self.label_synsets[label]
                _check_prepared_label(name, synset, where)
                yield where, ImageRecord(name, synset, image)
        except (OSError, *internals.IMAGENET2012_RECORD_ERRORS) as error:
            if isinstance(error, IlsvrcError):
                raise
            raise IlsvrcError(
                f"{self.path} cannot be read ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}). The file is truncated or "
                "corrupt: prepare imagenet2012 again, or use the ILSVRC2012 tars instead."
            ) from error


def _check_prepared_label(name: str, synset: str, where: str) -> None:
    """The label of a prepared example agrees with its name (train) or the ground truth (val)."""
    fix = "The imagenet2012 was prepared from altered archives: prepare it again, or use the tars."
    if synsets.VALIDATION_NAME_PATTERN.fullmatch(name):
        try:
            truth = synsets.validation_synset(name)
        except ValueError as error:  # e.g. a number past 50000
            raise IlsvrcError(f"{where}: {error}") from None
        if truth != synset:
            raise IlsvrcError(
                f"{where} is labelled {synset}, but the official ILSVRC2012 ground truth "
                f"labels it {truth}; its clean label would be wrong. {fix}"
            )
    else:
        records.check_train_synset(name, synset, where, "the examples labelled", fix)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(number) for number in name.split("."))


def prepared_version_dirs(manual_dir: str) -> list[str]:
    """The imagenet2012 version folders with a dataset_info.json in `manual_dir`, newest first.

    Looks at `<manual_dir>/imagenet2012/<version>/dataset_info.json`, and at
    `<manual_dir>/imagenet2012/dataset_info.json` (a link straight to a version folder).
    """
    root = os.path.join(manual_dir, IMAGENET2012)
    if os.path.isfile(os.path.join(root, "dataset_info.json")):
        return [root]
    if not os.path.isdir(root):
        return []
    versions = [
        name
        for name in os.listdir(root)
        if re.fullmatch(r"\d+\.\d+\.\d+", name)
        and os.path.isfile(os.path.join(root, name, "dataset_info.json"))
    ]
    versions.sort(key=_version_key, reverse=True)
    return [os.path.join(root, version) for version in versions]


def prepared_imagenet2012(manual_dir: str) -> PreparedImagenet2012Layout | None:
    """The newest complete imagenet2012 version in `manual_dir`; None if there is none at all.

    A newer version folder that is incomplete (half copied: shard files missing or cut
    short) or unusable (another format, too old) is skipped with a warning that says what
    it lacks.

    Raises:
      IlsvrcError: version folders are there but none is complete; names what each lacks.
    """
    version_dirs = prepared_version_dirs(manual_dir)
    problems = []
    for version_dir in version_dirs:
        try:
            layout = PreparedImagenet2012Layout.from_dir(version_dir)
        except IlsvrcError as error:
            problems.append((version_dir, error))
            continue
        for skipped, error in problems:
            logger.warning(
                "Skipped %s: %s Reading %s, the newest complete imagenet2012 there.",
                skipped,
                error,
                version_dir,
            )
        if len(version_dirs) > 1:
            logger.info(
                "%s holds versions %s: reading %s.",
                os.path.dirname(version_dir),
                ", ".join(os.path.basename(path) for path in version_dirs),
                os.path.basename(version_dir),
            )
        return layout
    if not problems:
        return None
    if len(problems) == 1:
        raise problems[0][1]
    raise IlsvrcError(
        f"No complete imagenet2012 in {os.path.dirname(problems[0][0])}: each of its version "
        "folders lacks something.\n"
        + "".join(f"  {error}\n" for _, error in problems)
        + "Copy one version folder whole, or prepare imagenet2012 again."
    )


def find_prepared_imagenet2012(manual_dir: str) -> str | None:
    """The newest complete imagenet2012 version folder in `manual_dir`, or None (see above)."""
    layout = prepared_imagenet2012(manual_dir)
    return None if layout is None else layout.version_dir


@dataclasses.dataclass
class PreparedImagenet2012Layout:
    """An `imagenet2012` dataset that TFDS already prepared, read instead of the tars.

    Its images are the archive's bytes (TFDS's builder converted the 22 CMYK JPEGs
    and the PNG of train by name, at 4:2:0 where `image_fixes` keeps 4:4:4); its
    labels index its own label list, the 1000 sorted synsets.
    """

    version_dir: str
    label_synsets: tuple[str, ...]
    split_files: dict[str, tuple[str, ...]]

    @classmethod
    def from_dir(cls, version_dir: str) -> PreparedImagenet2012Layout:
        """Reads the dataset's metadata; raises naming what is missing or unsupported."""
        import tensorflow_datasets as tfds

        from imagenet_pi import internals  # imports TFDS, which only this layout needs

        try:
            builder = tfds.builder_from_directory(version_dir)
        except Exception as error:  # TFDS raises many types for bad metadata
            raise IlsvrcError(
                f"{version_dir} is not a readable TFDS dataset ({type(error).__name__}: "
                f"{error}). Expected the version folder of a prepared imagenet2012."
            ) from error
        info = builder.info
        if info.name != IMAGENET2012:
            raise IlsvrcError(
                f"{version_dir} holds the dataset {info.name!r}, not {IMAGENET2012!r}."
            )
        if _version_key(str(info.version)) < (2, 0, 0):
            raise IlsvrcError(
                f"{version_dir} is imagenet2012 {info.version}, whose validation labels are "
                "wrong (fixed in 2.0.0): prepare a current version, or use the tars."
            )
        file_format = getattr(info.file_format, "value", str(info.file_format))
        if file_format != "tfrecord":
            raise IlsvrcError(
                f"{version_dir} is stored as {file_format}; only tfrecord is read here. "
                "Prepare imagenet2012 with `--file_format tfrecord`, or use the tars."
            )
        split_files = {}
        for split, prepared_split in _PREPARED_SPLITS.items():
            if prepared_split not in info.splits:
                raise IlsvrcError(
                    f"{version_dir} has no {prepared_split!r} split (it has "
                    f"{', '.join(info.splits)}); it was prepared without "
                    f"{upstream.TRAIN_TAR if split == 'train' else upstream.VAL_TAR}."
                )
            paths = tuple(os.fspath(path) for path in info.splits[prepared_split].filepaths)
            missing = [path for path in paths if not os.path.isfile(path)]
            if missing:
                raise IlsvrcError(
                    f"{version_dir}: {len(missing)} of the {len(paths)} {prepared_split} "
                    f"files are missing (first: {missing[0]}). Copy the whole folder."
                )
            expected = internals.tfrecord_split_bytes(info.splits[prepared_split])
            found = sum(os.path.getsize(path) for path in paths)
            if expected is not None and found != expected:
                raise IlsvrcError(
                    f"{version_dir}: its {len(paths)} {prepared_split} files hold {found:,} "
                    f"bytes, but its dataset_info.json says {expected:,}: a copy cut short, or "
                    "files of another preparation. Copy the whole folder again."
                )
            split_files[split] = paths
        return cls(version_dir, tuple(info.features["label"].names), split_files)

    @property
    def description(self) -> str:
        return f"TFDS-prepared imagenet2012 {self.version_dir}"

    def location(self, split: str) -> str:
        return self.version_dir

    def parts(self, split: str) -> list[TfrecordPart]:
        return [TfrecordPart(path, self.label_synsets) for path in self.split_files[split]]
