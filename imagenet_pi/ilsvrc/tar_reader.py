"""Reading tars without trusting them: member offsets, byte slices, and where a tar ends.

Reading streams: neither the 150 GB train tar nor a per-synset tar is ever held in
memory, and each part seeks straight to its bytes. `tarfile` stops quietly at a damaged
or zeroed header, and lets links and short payloads through; here each of these is an
`IlsvrcError` naming the archive and member.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from typing import BinaryIO

from imagenet_pi.ilsvrc.records import IlsvrcError

# What reading a damaged tar raises, from `tarfile` or the file underneath.
READ_ERRORS = (tarfile.TarError, EOFError, OSError)


def unreadable(where: str, error: Exception) -> IlsvrcError:
    """The error for a tar (or member) that `tarfile` or the disk cannot read."""
    return IlsvrcError(
        f"{where} cannot be read ({type(error).__name__}: {error}). The archive is truncated "
        "or corrupt: compare its size and sha256 with the official ones and download it again."
    )


def check_payload(payload: bytes, expected_size: int, where: str) -> bytes:
    """`payload` if it holds the `expected_size` bytes its header announced and is not empty."""
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


def not_a_file(info: tarfile.TarInfo, where: str) -> IlsvrcError:
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


def check_tar_end(f: BinaryIO, start: int, size: int, end: int, where: str, last: str) -> None:
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
                    raise not_a_file(member, path)
            end = tar.offset
    except READ_ERRORS as error:
        raise unreadable(path, error) from error
    for member in members:
        if member.offset + member.size > file_size:
            raise IlsvrcError(
                f"{path}: member {member.name!r} ends at byte {member.offset + member.size} but "
                f"the file has {file_size} bytes. The archive is truncated: download it again."
            )
    with open(path, "rb") as f:
        check_tar_end(f, 0, file_size, end, path, members[-1].name if members else "")
    return members


class FileSlice(io.RawIOBase):
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
