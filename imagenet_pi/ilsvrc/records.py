"""What every part of ILSVRC2012 yields, and the checks every image record passes.

A part is a unit of input work: some images of one split, readable on its own and
picklable (one per-synset tar of the train archive, a run of validation images, a
synset folder, a tfrecord file of a prepared imagenet2012). The single-process build
reads a layout's parts one after the other, the parallel build and Beam fan them out.
Whatever the layout, every record a part yields has a UTF-8 name, a JPEG that is not
cut short, odd images (CMYK JPEG, PNG) converted to RGB JPEG (`image_fixes`), and a
train image named after the synset it is labelled with.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from imagenet_pi import errors, upstream
from imagenet_pi.ilsvrc import image_fixes

# Validation images per part: small enough to spread 50,000 images over many workers.
VALIDATION_PART_SIZE = 1000

MANUAL_DOWNLOAD_HINT = (
    "Register at https://image-net.org/download-images, download "
    f"{upstream.TRAIN_TAR} and {upstream.VAL_TAR} (ILSVRC2012, 'Training images (Task 1 & 2)' "
    "and 'Validation images (all tasks)') and put both files, unextracted, in the manual_dir."
)


class IlsvrcError(errors.ImagenetPiError, ValueError):
    """An ILSVRC2012 archive or folder is missing, truncated or holds something unexpected."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image of ILSVRC2012 as stored in the archive."""

    file_name: str  # e.g. "n01440764_10026.JPEG" or "ILSVRC2012_val_00000001.JPEG"
    synset: str  # ground-truth synset id, e.g. "n01440764"
    image: bytes  # encoded image, as in the archive


class Part(Protocol):
    """A unit of input work: some images of one split, readable on its own (and picklable).

    `read` yields the images with odd ones (CMYK JPEG, PNG, ...) converted to RGB
    JPEG; it counts them into `fixer`, or, without one, logs its own counts.
    `describe` says what it is, for messages (the inner tar, the folder, ...).
    """

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]: ...

    def describe(self) -> str: ...


def require_file(path: str | os.PathLike, what: str) -> str:
    """Returns `path` as str, or raises a clear error if it is not an existing file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise IlsvrcError(f"{what} not found: expected the file {path}. {MANUAL_DOWNLOAD_HINT}")
    return path


def runs(items: Sequence, size: int) -> list[tuple]:
    """`items` cut into consecutive tuples of at most `size` (the validation parts)."""
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def checked_records(
    records: Iterator[tuple[str, ImageRecord]],
    fixer: image_fixes.ImageFixer | None,
    part_name: str,
) -> Iterator[ImageRecord]:
    """`(where, record)` pairs -> records checked, odd images converted to RGB JPEG.

    Without a `fixer` of the caller's, the part logs its own counts (how a Beam
    worker reports them).

    Raises:
      IlsvrcError: a name that is not UTF-8, a JPEG cut short, bytes that are no image;
        the message names `where`.
    """
    own_fixer = fixer is None
    fixer = image_fixes.ImageFixer() if own_fixer else fixer
    for where, record in records:
        check_name(record.file_name, where)
        try:
            image_fixes.check_complete_jpeg(record.image, where)
            image = fixer(record.image, where)
        except image_fixes.ImageError as error:
            raise IlsvrcError(str(error)) from error
        yield record if image is record.image else dataclasses.replace(record, image=image)
    if own_fixer and fixer.counts:
        fixer.log(part_name)


def check_name(name: str, where: str) -> None:
    """Refuses a file name that is not UTF-8 (its bytes came back as surrogates)."""
    if name.isascii():  # every ILSVRC2012 name: the fast path
        return
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        where = where.encode("utf-8", "backslashreplace").decode()  # printable
        raise IlsvrcError(
            f"{where}: the file name {raw!r} is not UTF-8; ILSVRC2012 names are ASCII, such "
            "as 'n01440764_10026.JPEG'. The archive or folder was renamed or damaged: "
            "extract or download it again."
        ) from None


# Train images are named after their synset: `n01440764_10026.JPEG`.
_TRAIN_NAME_PATTERN = re.compile(r"^(n\d{8})_")


def check_train_synset(name: str, synset: str, where: str, container: str, fix: str) -> None:
    """Refuses a train image named after another synset than the one it is labelled with.

    Args:
      name: the image's file name.
      synset: the synset it is labelled with (its tar, folder or prepared label).
      where: the archive and member, or the file, for the message.
      container: what labels it, to precede `synset` ("the folder of", ...).
      fix: what to do, the message's last sentence.
    """
    match = _TRAIN_NAME_PATTERN.match(name)
    if match and match.group(1) != synset:
        raise IlsvrcError(
            f"{where}: the image {name!r} of synset {match.group(1)} is in {container} "
            f"{synset}; its clean label would be wrong. {fix}"
        )
