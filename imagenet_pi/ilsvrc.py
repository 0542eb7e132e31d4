"""ILSVRC2012 sources: the images the user downloaded by hand, as picklable shards.

Four forms are read (`detect_source` picks one, see `FORMS`): the original tars, the
extracted folders, the Kaggle copy, and an `imagenet2012` that TFDS already prepared.
Every shard converts odd images (CMYK JPEG, PNG) to RGB JPEG as it reads (`image_fixes`).

A source splits each split into shards, units of work that can be read on their
own (one per-synset tar of the train archive, a run of validation images): the
single-process build reads them one after the other, a Beam build fans them out.
Reading streams: neither the 150 GB train tar nor a per-synset tar is ever held in
memory, and each shard seeks straight to its bytes.

Nothing is stored wrong or lost without a word: a shard refuses a JPEG cut short, a
train image named after another synset than its label, links inside the tars, a tar
that ends early or has a damaged header (where `tarfile` would stop quietly), and
file names that are not UTF-8, each naming the archive and member or the file.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import tarfile
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, Protocol

from imagenet_pi import archive_checks, errors, image_fixes, record_files, synsets, upstream

logger = logging.getLogger(__name__)

# Validation images per shard: small enough to spread 50,000 images over many workers.
VALIDATION_SHARD_SIZE = 1000


class IlsvrcError(errors.ImagenetPiError, ValueError):
    """An ILSVRC2012 archive or folder is missing, truncated or holds something unexpected."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image of ILSVRC2012 as stored in the archive."""

    file_name: str  # e.g. "n01440764_10026.JPEG" or "ILSVRC2012_val_00000001.JPEG"
    synset: str  # ground-truth synset id, e.g. "n01440764"
    image: bytes  # encoded image, as in the archive


class Shard(Protocol):
    """A unit of work: some images of one split, readable on its own (and picklable).

    `read` yields the images with odd ones (CMYK JPEG, PNG, ...) converted to RGB
    JPEG; it counts them into `fixer`, or, without one, logs its own counts.
    `describe` says what it is, for messages (the inner tar, the folder, ...).
    """

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]: ...

    def describe(self) -> str: ...


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


def _fixed(
    records: Iterator[tuple[str, ImageRecord]],
    fixer: image_fixes.ImageFixer | None,
    shard_name: str,
) -> Iterator[ImageRecord]:
    """`(where, record)` pairs -> records with odd images converted to RGB JPEG.

    Without a `fixer` of the caller's, the shard logs its own counts (how a Beam
    worker reports them).
    """
    own_fixer = fixer is None
    fixer = image_fixes.ImageFixer() if own_fixer else fixer
    for where, record in records:
        _check_name(record.file_name, where)
        try:
            image_fixes.check_complete_jpeg(record.image, where)
            image = fixer(record.image, where)
        except image_fixes.ImageError as error:
            raise IlsvrcError(str(error)) from error
        yield record if image is record.image else dataclasses.replace(record, image=image)
    if own_fixer and fixer.counts:
        fixer.log(shard_name)


def _check_name(name: str, where: str) -> None:
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


def _check_train_synset(name: str, synset: str, where: str, container: str, fix: str) -> None:
    """Refuses a train image named after another synset than the one it is labelled with."""
    match = _TRAIN_NAME_PATTERN.match(name)
    if match and match.group(1) != synset:
        raise IlsvrcError(
            f"{where}: the image {name!r} of synset {match.group(1)} is in {container} "
            f"{synset}; its clean label would be wrong. {fix}"
        )


def _not_a_file(info: tarfile.TarInfo, where: str) -> IlsvrcError:
    """The error for a link or special file where a tar should hold regular files."""
    if info.issym() or info.islnk():
        kind = "symbolic link" if info.issym() else "hard link"
        what = f"a {kind} to {info.linkname!r}"
    else:
        what = "a device, FIFO or other special file"
    return IlsvrcError(
        f"{where}: member {info.name!r} is {what}, not the image data; the official "
        "archives hold regular files only. The archive was repacked: use the official one, "
        "or repack it with the files themselves (`tar --dereference --hard-dereference`)."
    )


# After its end-of-archive marker (two zero blocks) a tar holds only zeros: the padding to
# a whole record, 10 kB by default (GNU tar, bsdtar, Python), up to 1 MiB with `tar -b`.
_END_MARKER_BYTES = 2 * tarfile.BLOCKSIZE
_MAX_PADDING_BYTES = 1 << 20


def _check_tar_end(f: BinaryIO, start: int, size: int, end: int, where: str, last: str) -> None:
    """Raises unless the tar in `f[start:start + size]` ends properly where reading stopped.

    `tarfile` stops quietly at a damaged, zeroed or missing header after the first
    one, which would drop every later member without a word; this looks at where
    it stopped: an end-of-archive marker, then zeros up to at most 1 MiB.

    Args:
      f: the open file holding the tar.
      start, size: where the tar lies in `f`.
      end: where `tarfile` stopped reading headers, from `start` (`TarFile.offset`).
      where: the archive (and member) for the message.
      last: the name of the last member read, for the message.
    """
    f.seek(start + end)
    tail = f.read(max(0, min(size - end, _MAX_PADDING_BYTES + 1)))
    after = f"after the member {last!r}" if last else "before its first member"
    if len(tail) < _END_MARKER_BYTES:
        problem = f"ends at byte {size} {after}, without an end-of-archive marker"
    elif tail[:_END_MARKER_BYTES].count(0) != _END_MARKER_BYTES:
        problem = f"has a damaged member header there ({after})"
    elif tail.count(0) != len(tail):
        problem = f"has a zeroed member header there ({after}) and members after it"
    elif len(tail) > _MAX_PADDING_BYTES:
        problem = (
            f"holds only zeros from there ({after}) on, {size - end:,} bytes, more than any "
            "tar's padding: a zeroed stretch, or a download that stopped in a preallocated file"
        )
    else:
        return
    raise IlsvrcError(
        f"{where} cannot be read past byte {end}: it {problem}. The archive is truncated or "
        "corrupt and its later members are lost: compare its size and sha256 with the "
        "official ones (`imagenet-pi verify`) and download it again."
    )


@dataclasses.dataclass(frozen=True)
class TarMember:
    """Where a member's bytes lie in a tar file."""

    name: str
    offset: int  # of the data, not the header
    size: int


def index_tar(path: str) -> list[TarMember]:
    """The regular-file members of a tar with the offsets of their data (reads headers only)."""
    members = []
    file_size = os.path.getsize(path)
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if member.isfile():
                    members.append(TarMember(member.name, member.offset_data, member.size))
                elif not member.isdir():
                    raise _not_a_file(member, path)
            end = tar.offset
    except _READ_ERRORS as error:
        raise _unreadable(path, error) from error
    for member in members:
        if member.offset + member.size > file_size:
            raise IlsvrcError(
                f"{path}: member {member.name!r} ends at byte {member.offset + member.size} but "
                f"the file has {file_size} bytes. The archive is truncated: download it again."
            )
    with open(path, "rb") as f:
        _check_tar_end(f, 0, file_size, end, path, members[-1].name if members else "")
    return members


class _FileSlice(io.RawIOBase):
    """A read-only, seekable view of `size` bytes of an open file from `offset`."""

    def __init__(self, raw: BinaryIO, offset: int, size: int) -> None:
        self._raw, self._start, self._end = raw, offset, offset + size
        self._position = offset

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position - self._start

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: self._start, io.SEEK_CUR: self._position, io.SEEK_END: self._end}
        self._position = max(self._start, base[whence] + position)
        return self._position - self._start

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

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return _fixed(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return f"{self.archive}: member {self.member.name!r}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        where = f"{self.archive}: member {self.member.name!r}"
        synset = synset_of_member(self.member.name, self.archive)
        with open(self.archive, "rb", buffering=0) as raw:
            inner_bytes = io.BufferedReader(
                _FileSlice(raw, self.member.offset, self.member.size), 1 << 20
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
                            raise _not_a_file(member, where)
                        image_where = f"{where}, image {member.name!r}"
                        inner_bytes.seek(member.offset_data)
                        payload = inner_bytes.read(member.size)
                        payload = _check_payload(payload, member.size, image_where)
                        name = last = os.path.basename(member.name)
                        _check_train_synset(
                            name,
                            synset,
                            image_where,
                            "the per-synset tar of",
                            "The archive was repacked or damaged: use the official "
                            f"{upstream.TRAIN_TAR}.",
                        )
                        yield image_where, ImageRecord(name, synset, payload)
                    end = inner.offset
            except _READ_ERRORS as error:
                raise _unreadable(where, error) from error
            _check_tar_end(raw, self.member.offset, self.member.size, end, where, last)


@dataclasses.dataclass(frozen=True)
class ValidationTarShard:
    """A run of images of `ILSVRC2012_img_val.tar`, labelled by the official ground truth."""

    archive: str
    members: tuple[TarMember, ...]

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return _fixed(self._records(), fixer, self.describe())

    def describe(self) -> str:
        first, last = self.members[0].name, self.members[-1].name
        return f"{self.archive}: members {first!r}..{last!r}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        with open(self.archive, "rb") as raw:
            for member in self.members:
                where = f"{self.archive}: member {member.name!r}"
                name = os.path.basename(member.name)
                _check_name(name, where)
                try:
                    synset = synsets.validation_synset(name)
                except ValueError as error:
                    raise IlsvrcError(f"{where}: {error}") from None
                try:
                    raw.seek(member.offset)
                    payload = raw.read(member.size)
                except OSError as error:
                    raise _unreadable(where, error) from error
                payload = _check_payload(payload, member.size, where)
                yield where, ImageRecord(name, synset, payload)


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
    """Every image of `split`, shard after shard; logs the odd images converted at the end."""
    fixer = image_fixes.ImageFixer()
    for shard in source.shards(split):
        yield from shard.read(fixer)
    fixer.log(f"ILSVRC2012 {split} ({source.location(split)})")


# Extracted folders: train/<synset>/<file>.JPEG and val/<file>.JPEG or val/<synset>/<file>.JPEG.


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
class SynsetFolderShard:
    """One extracted train synset: `train/<synset>/<synset>_<n>.JPEG`."""

    folder: str

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return _fixed(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return self.folder

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        synset = _folder_synset(self.folder)
        for name in _visible_entries(self.folder):
            path = os.path.join(self.folder, name)
            _check_train_synset(
                name,
                synset,
                path,
                "the folder of",
                f"Move it back to train/{name.split('_')[0]}/ or extract the archive again.",
            )
            yield path, ImageRecord(name, synset, _read_image_file(path))


@dataclasses.dataclass(frozen=True)
class ImageFilesShard:
    """A run of image files with their synsets (validation images)."""

    files: tuple[tuple[str, str], ...]  # (path, ground-truth synset)

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return _fixed(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return f"{self.files[0][0]}..{self.files[-1][0]}"

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        for path, synset in self.files:
            yield path, ImageRecord(os.path.basename(path), synset, _read_image_file(path))


def _validation_file(path: str, folder_synset: str | None) -> tuple[str, str]:
    """`(path, synset)` of a validation image, its synset from the official ground truth."""
    name = os.path.basename(path)
    _check_name(name, path)
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
class FolderSource:
    """ILSVRC2012 extracted: `train/<synset>/*.JPEG`, and `val/*.JPEG` or `val/<synset>/*.JPEG`.

    Train labels are the synset folders; validation labels are always the official
    ground truth (a `val/<synset>/` folder must agree with it).
    """

    train_dir: str
    val_dir: str
    form: str = "extracted folders"

    @property
    def description(self) -> str:
        return f"ILSVRC2012 {self.form} {self.train_dir} and {self.val_dir}"

    def location(self, split: str) -> str:
        return self.train_dir if split == "train" else self.val_dir

    def shards(self, split: str) -> list[SynsetFolderShard] | list[ImageFilesShard]:
        if split == "train":
            return self._train_shards()
        return self._validation_shards()

    def _train_shards(self) -> list[SynsetFolderShard]:
        shards = []
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
            shards.append(SynsetFolderShard(folder))
        if not shards:
            raise IlsvrcError(f"{self.train_dir} holds no synset folders such as n01440764/.")
        return shards

    def _validation_shards(self) -> list[ImageFilesShard]:
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
        return [ImageFilesShard(run) for run in chunks(files, VALIDATION_SHARD_SIZE)]


# A TFDS-prepared imagenet2012: <manual_dir>/imagenet2012/<version>/.

IMAGENET2012 = "imagenet2012"
_PREPARED_SPLITS = {"train": "train", "validation": "validation"}


@dataclasses.dataclass(frozen=True)
class TfrecordShard:
    """One tfrecord file of a prepared imagenet2012 (image bytes, label, file_name)."""

    path: str
    label_synsets: tuple[str, ...]  # the dataset's label names: synset of label i

    def read(self, fixer: image_fixes.ImageFixer | None = None) -> Iterator[ImageRecord]:
        return _fixed(self._records(), fixer, self.describe())

    def describe(self) -> str:
        return self.path

    def _records(self) -> Iterator[tuple[str, ImageRecord]]:
        from google.protobuf import message
        from tensorflow.core.example import example_pb2

        # Records read in Python (CRC-checked), not by TensorFlow: build workers are forked
        # and must not call TensorFlow. Parsed with protobuf, ~5x faster here than tf.data
        # + tf.io.parse_example, whose per-batch overhead dominates.
        try:
            for serialized in record_files.read_tfrecord(self.path):
                features = example_pb2.Example.FromString(serialized).features.feature
                name = features["file_name"].bytes_list.value[0].decode("utf-8", "surrogateescape")
                where = f"{self.path}: example {name!r}"
                (label,) = features["label"].int64_list.value
                if not 0 <= label < len(self.label_synsets):
                    raise IlsvrcError(f"{where} has label {label}, not a class index.")
                (image,) = features["image"].bytes_list.value
                if not image:
                    raise IlsvrcError(f"{where} has an empty image; prepare imagenet2012 again.")
                synset = self.label_synsets[label]
                _check_prepared_label(name, synset, where)
                yield where, ImageRecord(name, synset, image)
        except (OSError, message.DecodeError, ValueError, IndexError) as error:
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
    if synsets.VALIDATION_NAME_PATTERN.match(name):
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
        _check_train_synset(name, synset, where, "the examples labelled", fix)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


def _prepared_version_dirs(manual_dir: str) -> list[str]:
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


def prepared_imagenet2012(manual_dir: str) -> PreparedImagenet2012Source | None:
    """The newest complete imagenet2012 version in `manual_dir`; None if there is none at all.

    A newer version folder that is incomplete (half copied: shard files missing or cut
    short) or unusable (another format, too old) is skipped with a warning that says what
    it lacks.

    Raises:
      IlsvrcError: version folders are there but none is complete; names what each lacks.
    """
    version_dirs = _prepared_version_dirs(manual_dir)
    problems = []
    for version_dir in version_dirs:
        try:
            source = PreparedImagenet2012Source.from_dir(version_dir)
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
        return source
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
    source = prepared_imagenet2012(manual_dir)
    return None if source is None else source.version_dir


@dataclasses.dataclass
class PreparedImagenet2012Source:
    """An `imagenet2012` dataset that TFDS already prepared, read instead of the tars.

    Its images are the archive's bytes (TFDS's builder converted the 22 CMYK JPEGs
    and the PNG of train by name, at 4:2:0 where `image_fixes` keeps 4:4:4); its
    labels index its own label list, the 1000 sorted synsets.
    """

    version_dir: str
    label_synsets: tuple[str, ...]
    split_files: dict[str, tuple[str, ...]]

    @classmethod
    def from_dir(cls, version_dir: str) -> PreparedImagenet2012Source:
        """Reads the dataset's metadata; raises naming what is missing or unsupported."""
        import tensorflow_datasets as tfds

        from imagenet_pi import tfds_internals  # imports TFDS, which only this form needs

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
            expected = tfds_internals.tfrecord_split_bytes(info.splits[prepared_split])
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

    def shards(self, split: str) -> list[TfrecordShard]:
        return [TfrecordShard(path, self.label_synsets) for path in self.split_files[split]]


# Auto-detection of the form in manual_dir.

KAGGLE_ROOT = os.path.join("ILSVRC", "Data", "CLS-LOC")


@dataclasses.dataclass(frozen=True)
class Form:
    """One way of holding ILSVRC2012 in the manual_dir."""

    name: str
    expected: Callable[[str], list[str]]  # manual_dir -> the paths this form needs
    load: Callable[[str], Source]  # manual_dir -> the source (all expected paths exist)
    note: str = ""  # shown after the paths when nothing is found


def _tar_paths(manual_dir: str) -> list[str]:
    return [
        os.path.join(manual_dir, upstream.TRAIN_TAR),
        os.path.join(manual_dir, upstream.VAL_TAR),
    ]


def _prepared_paths(manual_dir: str) -> list[str]:
    # A version folder with its dataset_info.json is the form; which version is read, and
    # whether it is complete, is for `prepared_imagenet2012`.
    found = _prepared_version_dirs(manual_dir)
    if found:
        return [os.path.join(found[0], "dataset_info.json")]
    return [os.path.join(manual_dir, IMAGENET2012, "<version>", "dataset_info.json")]


def _folder_paths(root: str) -> list[str]:
    return [os.path.join(root, "train") + os.sep, os.path.join(root, "val") + os.sep]


def _load_tars(manual_dir: str) -> TarSource:
    source = TarSource.in_dir(manual_dir)
    archive_checks.size_warnings(_official_names(source))
    return source


def _verify_tars(source: TarSource) -> None:
    logger.info("Checking the sha256 of both tars (verify_archives).")
    try:
        archive_checks.verify(_official_names(source), progress=True)
    except archive_checks.ChecksumError as error:
        raise IlsvrcError(str(error)) from error


def _official_names(source: TarSource) -> dict[str, str]:
    """Official tar name -> its path, as `archive_checks` takes them."""
    return {upstream.TRAIN_TAR: source.train_tar, upstream.VAL_TAR: source.val_tar}


def _load_folders(root: str, form: str) -> FolderSource:
    return FolderSource(os.path.join(root, "train"), os.path.join(root, "val"), form)


# In priority order: the first complete form wins. A prepared imagenet2012 is only
# there if the user placed it on purpose, and it skips parsing the tars; the tars
# are the original release (the only form that can be checked against official sums);
# extracted folders before the Kaggle copy, whose root is deeper.
FORMS = (
    Form(
        "TFDS-prepared imagenet2012",
        _prepared_paths,
        prepared_imagenet2012,
        "the version folder of a `tfds build imagenet2012`, copied or linked",
    ),
    Form(
        "ILSVRC2012 tars",
        _tar_paths,
        _load_tars,
        "as downloaded from https://image-net.org/download-images, unextracted",
    ),
    Form(
        "extracted folders",
        _folder_paths,
        lambda manual_dir: _load_folders(manual_dir, "extracted folders"),
        "train/<synset>/*.JPEG, and val/*.JPEG or val/<synset>/*.JPEG",
    ),
    Form(
        "Kaggle layout",
        lambda manual_dir: _folder_paths(os.path.join(manual_dir, KAGGLE_ROOT)),
        lambda manual_dir: _load_folders(os.path.join(manual_dir, KAGGLE_ROOT), "Kaggle layout"),
        "the Kaggle copy, unzipped in the manual_dir",
    ),
)


def _exists(path: str) -> bool:
    return os.path.isdir(path) if path.endswith(os.sep) else os.path.isfile(path)


def detect_source(manual_dir: str | os.PathLike, verify_archives: bool = False) -> Source:
    """The ILSVRC2012 source in `manual_dir`: the first complete form of `FORMS`.

    Logs which form was picked and which others were also (partly) there. For the
    tars, warns when their sizes differ from the official ones and, if `verify_archives`
    (the config's, or `IMAGENET_PI_VERIFY_ARCHIVES`: `archive_checks.verify_archives`),
    checks their sha256 first.

    Raises:
      IlsvrcError: no form is complete; the message lists every form with the
        paths it needs, and which of them were found.
    """
    manual_dir = os.fspath(manual_dir)
    complete, partial = [], []
    for form in FORMS:
        found = [_exists(path) for path in form.expected(manual_dir)]
        if all(found):
            complete.append(form.name)
        elif any(found):
            partial.append(f"{form.name} (incomplete)")
    if complete:
        picked = next(form for form in FORMS if form.name == complete[0])
        source = picked.load(manual_dir)
        if verify_archives and isinstance(source, TarSource):
            _verify_tars(source)
        elif verify_archives:
            logger.warning(
                "Checking the sha256 of the archives was asked for (verify_archives or %s), "
                "but %s has no official checksums: nothing was verified.",
                archive_checks.VERIFY_ENV_VAR,
                source.description,
            )
        ignored = complete[1:] + partial
        if ignored:
            priority = ", ".join(form.name for form in FORMS)
            logger.info(
                "Reading %s; also there, ignored: %s (priority: %s).",
                source.description,
                ", ".join(ignored),
                priority,
            )
        else:
            logger.info("Reading %s.", source.description)
        return source
    lines = [f"No ILSVRC2012 found in {manual_dir}. Looked for, in this order:"]
    for number, form in enumerate(FORMS, 1):
        paths = form.expected(manual_dir)
        states = [f"{path} ({'found' if _exists(path) else 'missing'})" for path in paths]
        note = f", {form.note}" if form.note else ""
        lines.append(f"  {number}. {form.name}: {' and '.join(states)}{note}")
    lines.append(
        "Put one of these in place (see 'Getting ILSVRC2012 into place' in the README). "
        + MANUAL_DOWNLOAD_HINT
    )
    raise IlsvrcError("\n".join(lines))
