"""ILSVRC2012 sources: the images the user downloaded by hand, as picklable shards.

A source splits each split into shards, units of work that can be read on their
own (one per-synset tar of the train archive, a run of validation images): the
single-process build reads them one after the other, a Beam build fans them out.
Reading streams: neither the 150 GB train tar nor a per-synset tar is ever held in
memory, and each shard seeks straight to its bytes.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol

from imagenet_pi import synsets, upstream

# Validation images per shard: small enough to spread 50,000 images over many workers.
VALIDATION_SHARD_SIZE = 1000


class IlsvrcError(ValueError):
    """An ILSVRC2012 archive or folder is missing, truncated or holds something unexpected."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image of ILSVRC2012 as stored in the archive."""

    file_name: str  # e.g. "n01440764_10026.JPEG" or "ILSVRC2012_val_00000001.JPEG"
    synset: str  # ground-truth synset id, e.g. "n01440764"
    image: bytes  # encoded image, as in the archive


class Shard(Protocol):
    """A unit of work: some images of one split, readable on its own (and picklable)."""

    def read(self) -> Iterator[ImageRecord]: ...


class Source(Protocol):
    """ILSVRC2012 in one of the forms people hold it in."""

    description: str  # what was found and where, for logs and error messages

    def shards(self, split: str) -> Sequence[Shard]: ...

    def location(self, split: str) -> str:
        """The archive or folder that holds `split`, for error messages."""
        ...


MANUAL_DOWNLOAD_HINT = (
    "Register at https://image-net.org/download-images, download "
    f"{upstream.TRAIN_TAR} and {upstream.VAL_TAR} (ILSVRC2012, 'Training images (Task 1 & 2)' "
    "and 'Validation images (all tasks)') and put both files, unextracted, in the manual_dir."
)


def require_file(path: str | os.PathLike, what: str) -> str:
    """Returns `path` as str, or raises a clear error if it is not an existing file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise IlsvrcError(f"{what} not found: expected the file {path}. {MANUAL_DOWNLOAD_HINT}")
    return path


_READ_ERRORS = (tarfile.TarError, EOFError, OSError)


def _unreadable(where: str, error: Exception) -> IlsvrcError:
    return IlsvrcError(
        f"{where} cannot be read ({type(error).__name__}: {error}). The archive is truncated "
        "or corrupt: compare its size and sha256 with the official ones and download it again."
    )


def _check_payload(payload: bytes, expected_size: int, where: str) -> bytes:
    if len(payload) != expected_size:
        raise IlsvrcError(
            f"{where} is truncated ({len(payload)} of {expected_size} bytes). The archive is "
            "incomplete: download it again."
        )
    if not payload:
        raise IlsvrcError(
            f"{where} is an empty file; expected an encoded image. The archive is damaged: "
            "download it again."
        )
    return payload


@dataclasses.dataclass(frozen=True)
class TarMember:
    """Where a member's bytes lie in a tar file."""

    name: str
    offset: int  # of the data, not the header
    size: int


def index_tar(path: str) -> list[TarMember]:
    """The regular-file members of a tar with the offsets of their data (reads headers only)."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = [
                TarMember(member.name, member.offset_data, member.size)
                for member in tar
                if member.isfile()
            ]
    except _READ_ERRORS as error:
        raise _unreadable(path, error) from error
    file_size = os.path.getsize(path)
    for member in members:
        if member.offset + member.size > file_size:
            raise IlsvrcError(
                f"{path}: member {member.name!r} ends at byte {member.offset + member.size} but "
                f"the file has {file_size} bytes. The archive is truncated: download it again."
            )
    return members


class _FileSlice(io.RawIOBase):
    """A read-only view of `size` bytes of an open file from `offset`."""

    def __init__(self, raw: BinaryIO, offset: int, size: int) -> None:
        self._raw, self._start, self._end = raw, offset, offset + size
        self._position = offset

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self._end - self._position
        if remaining <= 0:
            return 0
        self._raw.seek(self._position)
        view = memoryview(buffer)[: min(len(buffer), remaining)]
        count = self._raw.readinto(view)
        self._position += count
        return count


def synset_of_member(member_name: str, archive: str) -> str:
    """The synset id of a per-synset tar member such as `n01440764.tar`."""
    base = os.path.basename(member_name)
    synset = base[: -len(".tar")] if base.endswith(".tar") else ""
    if not synset.startswith("n") or not synset[1:].isdigit():
        raise IlsvrcError(
            f"{archive}: member {member_name!r} is not a per-synset tar such as "
            "'n01440764.tar'. Is this really ILSVRC2012_img_train.tar?"
        )
    try:
        synsets.class_index(synset)
    except ValueError as error:
        raise IlsvrcError(f"{archive}: member {member_name!r}: {error}") from None
    return synset


@dataclasses.dataclass(frozen=True)
class SynsetTarShard:
    """One per-synset tar (`n01440764.tar`) inside `ILSVRC2012_img_train.tar`."""

    archive: str
    member: TarMember

    def read(self) -> Iterator[ImageRecord]:
        where = f"{self.archive}: member {self.member.name!r}"
        synset = synset_of_member(self.member.name, self.archive)
        with open(self.archive, "rb") as raw:
            inner_bytes = io.BufferedReader(
                _FileSlice(raw, self.member.offset, self.member.size), 1 << 20
            )
            try:
                with tarfile.open(fileobj=inner_bytes, mode="r|") as inner:
                    for member in inner:
                        if not member.isfile():
                            continue
                        image_where = f"{where}, image {member.name!r}"
                        reader = inner.extractfile(member)
                        payload = _check_payload(reader.read(), member.size, image_where)
                        yield ImageRecord(os.path.basename(member.name), synset, payload)
            except _READ_ERRORS as error:
                raise _unreadable(where, error) from error


@dataclasses.dataclass(frozen=True)
class ValidationTarShard:
    """A run of images of `ILSVRC2012_img_val.tar`, labelled by the official ground truth."""

    archive: str
    members: tuple[TarMember, ...]

    def read(self) -> Iterator[ImageRecord]:
        with open(self.archive, "rb") as raw:
            for member in self.members:
                where = f"{self.archive}: member {member.name!r}"
                name = os.path.basename(member.name)
                try:
                    synset = synsets.validation_synset(name)
                except ValueError as error:
                    raise IlsvrcError(f"{where}: {error}") from None
                try:
                    raw.seek(member.offset)
                    payload = raw.read(member.size)
                except OSError as error:
                    raise _unreadable(where, error) from error
                yield ImageRecord(name, synset, _check_payload(payload, member.size, where))


def chunks(items: Sequence, size: int) -> list[tuple]:
    """`items` cut into consecutive tuples of at most `size`."""
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


@dataclasses.dataclass
class TarSource:
    """The two archives as downloaded from image-net.org."""

    train_tar: str
    val_tar: str

    @classmethod
    def in_dir(cls, manual_dir: str | os.PathLike) -> TarSource:
        """The archives in `manual_dir`; raises naming the expected paths if either is missing."""
        manual_dir = os.fspath(manual_dir)
        return cls(
            train_tar=require_file(
                os.path.join(manual_dir, upstream.TRAIN_TAR), "ILSVRC2012 train archive"
            ),
            val_tar=require_file(
                os.path.join(manual_dir, upstream.VAL_TAR), "ILSVRC2012 validation archive"
            ),
        )

    @property
    def description(self) -> str:
        return f"ILSVRC2012 tars {self.train_tar} and {self.val_tar}"

    def location(self, split: str) -> str:
        return self.train_tar if split == "train" else self.val_tar

    def shards(self, split: str) -> list[SynsetTarShard] | list[ValidationTarShard]:
        archive = self.location(split)
        members = index_tar(archive)
        if split == "train":
            return [SynsetTarShard(archive, member) for member in members]
        return [ValidationTarShard(archive, run) for run in chunks(members, VALIDATION_SHARD_SIZE)]


def iter_split(source: Source, split: str) -> Iterator[ImageRecord]:
    """Every image of `split`, shard after shard."""
    for shard in source.shards(split):
        yield from shard.read()


def iter_train_tar(path: str | os.PathLike) -> Iterator[ImageRecord]:
    """Images of `ILSVRC2012_img_train.tar`: a tar of `<synset>.tar` per-synset tars."""
    path = require_file(path, "ILSVRC2012 train archive")
    for member in index_tar(path):
        yield from SynsetTarShard(path, member).read()


def iter_val_tar(path: str | os.PathLike) -> Iterator[ImageRecord]:
    """Images of `ILSVRC2012_img_val.tar` with their official ground-truth synsets."""
    path = require_file(path, "ILSVRC2012 validation archive")
    yield from ValidationTarShard(path, tuple(index_tar(path))).read()
