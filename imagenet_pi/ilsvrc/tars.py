"""ILSVRC2012 as the two tars downloaded from image-net.org, read as parts.

A train part is one per-synset tar (`n01440764.tar`) inside `ILSVRC2012_img_train.tar`,
labelled by its name; a validation part is a run of `ILSVRC2012_img_val.tar`'s images,
labelled by the official ground truth. A train image named after another synset than
its tar, a link in place of an image, and a member cut short are refused.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from collections.abc import Iterator

from imagenet_pi import synsets, upstream
from imagenet_pi.ilsvrc import image_fixes, records, tar_reader
from imagenet_pi.ilsvrc.records import IlsvrcError, ImageRecord
from imagenet_pi.ilsvrc.tar_reader import TarMember


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
class SynsetTarPart:
    """One per-synset tar (`n01440764.tar`) inside `ILSVRC2012_img_train.tar`."""

    archive: str
    member: TarMember

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return records.checked_records(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return f"{self.archive}: member {self.member.name!r}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        where = f"{self.archive}: member {self.member.name!r}"
        synset = synset_of_member(self.member.name, self.archive)
        with open(self.archive, "rb", buffering=0) as raw:
            inner_bytes = io.BufferedReader(
                tar_reader.FileSlice(raw, self.member.offset, self.member.size), 1 << 20
            )
            last = ""
            try:
                # Seekable mode, each payload read in one go: about 40 us an image less
                # than tarfile's stream mode, which copies every block through Python.
                with tarfile.open(fileobj=inner_bytes, mode="r:") as inner:
                    for member in inner:
                        if not member.isfile():
                            if member.isdir():
                                continue
                            raise tar_reader.not_a_file(member, where)
                        image_where = f"{where}, image {member.name!r}"
                        inner_bytes.seek(member.offset_data)
                        payload = inner_bytes.read(member.size)
                        payload = tar_reader.check_payload(payload, member.size, image_where)
                        name = last = os.path.basename(member.name)
                        records.check_train_synset(
                            name,
                            synset,
                            image_where,
                            "the per-synset tar of",
                            "The archive was repacked or damaged: use the official "
                            f"{upstream.TRAIN_TAR}.",
                        )
                        yield image_where, ImageRecord(name, synset, payload)
                    end = inner.offset
            except tar_reader.READ_ERRORS as error:
                raise tar_reader.unreadable(where, error) from error
            tar_reader.check_tar_end(raw, self.member.offset, self.member.size, end, where, last)


@dataclasses.dataclass(frozen=True)
class ValidationTarPart:
    """A run of images of `ILSVRC2012_img_val.tar`, labelled by the official ground truth."""

    archive: str
    members: tuple[TarMember, ...]

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return records.checked_records(self._records(), fixer, self.describe())

    def describe(self) -> str:
        first, last = self.members[0].name, self.members[-1].name
        return f"{self.archive}: members {first!r}..{last!r}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        with open(self.archive, "rb") as raw:
            for member in self.members:
                where = f"{self.archive}: member {member.name!r}"
                name = os.path.basename(member.name)
                records.check_name(name, where)
                try:
                    synset = synsets.validation_synset(name)
                except ValueError as error:
                    raise IlsvrcError(f"{where}: {error}") from None
                try:
                    raw.seek(member.offset)
                    payload = raw.read(member.size)
                except OSError as error:
                    raise tar_reader.unreadable(where, error) from error
                payload = tar_reader.check_payload(payload, member.size, where)
                yield where, ImageRecord(name, synset, payload)


@dataclasses.dataclass
class TarLayout:
    """The two archives as downloaded from image-net.org."""

    train_tar: str
    val_tar: str

    @classmethod
    def in_dir(cls, manual_dir: str | os.PathLike) -> TarLayout:
        """The archives in `manual_dir`; raises naming the expected paths if either is missing."""
        manual_dir = os.fspath(manual_dir)
        return cls(
            train_tar=records.require_file(
                os.path.join(manual_dir, upstream.TRAIN_TAR), "ILSVRC2012 train archive"
            ),
            val_tar=records.require_file(
                os.path.join(manual_dir, upstream.VAL_TAR), "ILSVRC2012 validation archive"
            ),
        )

    @property
    def description(self) -> str:
        return f"ILSVRC2012 tars {self.train_tar} and {self.val_tar}"

    def location(self, split: str) -> str:
        return self.train_tar if split == "train" else self.val_tar

    def official_names(self) -> dict[str, str]:
        """Official tar name -> its path, as `verification` takes them."""
        return {upstream.TRAIN_TAR: self.train_tar, upstream.VAL_TAR: self.val_tar}

    def parts(self, split: str) -> list[SynsetTarPart] | list[ValidationTarPart]:
        archive = self.location(split)
        members = tar_reader.index_tar(archive)
        if split == "train":
            return [SynsetTarPart(archive, member) for member in members]
        return [
            ValidationTarPart(archive, run)
            for run in records.runs(members, records.VALIDATION_PART_SIZE)
        ]
