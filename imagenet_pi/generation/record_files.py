"""Files of serialized records: TFRecord and array_record, written (and TFRecord read).

TFRecord is a public, documented framing (https://www.tensorflow.org/tutorials/load_data/
tfrecord#tfrecords_format_details): for each record, its length as a little-endian
uint64, the masked CRC-32C of those 8 bytes, the record, the masked CRC-32C of the
record. It is written and read here in Python (CRC-32C by `google-crc32c`) so that
build workers, which are forked, need no TensorFlow to write (see `worker_pool`). The bytes
are the same as `tf.io.TFRecordWriter`'s (`tests/generation/test_record_files.py` checks).

array_record shards are written with `group_size:1,uncompressed`. TFDS writes them
with array_record's default compression, zstd level 3; an ImageNet-PI record is
almost all JPEG bytes, which zstd cannot shrink, yet every random read would pay a
decompression and every write a compression. One record a chunk keeps random access
one read. Every array_record reader (`tfds.data_source`, grain,
`ArrayRecordDataSource`) reads either kind: the options are stored in the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
from collections.abc import Iterable, Iterator

import google_crc32c

from imagenet_pi import errors

ARRAY_RECORD_OPTIONS = "group_size:1,uncompressed"
TFRECORD = "tfrecord"
ARRAY_RECORD = "array_record"

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


class RecordFileError(errors.ImagenetPiError, ValueError):
    """A record file is truncated or corrupt."""


@dataclasses.dataclass(frozen=True)
class WrittenFile:
    """A file as written: its size in bytes and the hex sha256 of its content."""

    num_bytes: int
    sha256: str


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def write_tfrecord(path: str | os.PathLike, records: Iterable[bytes]) -> WrittenFile:
    """Writes `records`, in order, to the TFRecord file `path` (uncompressed).

    Returns its size and sha256, computed as it is written (the file is not read back).
    """
    digest = hashlib.sha256()
    num_bytes = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for record in records:
            length = _LENGTH.pack(len(record))
            pieces = [
                length + _CRC.pack(masked_crc32c(length)),
                record,
                _CRC.pack(masked_crc32c(record)),
            ]
            for piece in pieces:
                digest.update(piece)
            num_bytes += write_all(fd, pieces)
    finally:
        os.close(fd)
    return WrittenFile(num_bytes, digest.hexdigest())


def write_all(fd: int, pieces: list[bytes]) -> int:
    """Writes `pieces` in order to `fd`, in one `writev` unless the kernel takes less."""
    total = sum(len(piece) for piece in pieces)
    written = os.writev(fd, pieces)
    if written < total:
        rest = memoryview(b"".join(pieces))[written:]
        while rest:
            rest = rest[os.write(fd, rest) :]
    return total


def read_tfrecord(path: str | os.PathLike) -> Iterator[bytes]:
    """The records of the TFRecord file `path`, every checksum checked.

    Raises:
      RecordFileError: naming the file and the byte offset where it is cut short or
        where a checksum fails.
    """
    with open(path, "rb", buffering=1 << 20) as file:
        offset = 0
        while True:
            header = file.read(_LENGTH.size + _CRC.size)
            if not header:
                return
            if len(header) < _LENGTH.size + _CRC.size:
                raise _damaged(path, offset, "cut short in a record header")
            length_bytes, (length_crc,) = header[: _LENGTH.size], _CRC.unpack(header[8:])
            if masked_crc32c(length_bytes) != length_crc:
                raise _damaged(path, offset, "a record header fails its checksum")
            (length,) = _LENGTH.unpack(length_bytes)
            record = file.read(length)
            footer = file.read(_CRC.size)
            if len(record) < length or len(footer) < _CRC.size:
                raise _damaged(path, offset, "cut short in a record")
            if masked_crc32c(record) != _CRC.unpack(footer)[0]:
                raise _damaged(path, offset, "a record fails its checksum")
            offset += len(header) + length + _CRC.size
            yield record


def _damaged(path: str | os.PathLike, offset: int, what: str) -> RecordFileError:
    return RecordFileError(
        f"{os.fspath(path)} is damaged at byte {offset}: {what}. Expected a complete "
        "TFRecord file: copy or write it again."
    )


def write_array_record(path: str | os.PathLike, records: Iterable[bytes]) -> None:
    """Writes `records` (serialized examples, in order) to the array_record file `path`."""
    from array_record.python import array_record_module

    writer = array_record_module.ArrayRecordWriter(os.fspath(path), ARRAY_RECORD_OPTIONS)
    try:
        for record in records:
            writer.write(record)
    finally:
        writer.close()


def sha256_of(path: str | os.PathLike) -> WrittenFile:
    """The size and sha256 of the file at `path`, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    num_bytes = 0
    with open(path, "rb", buffering=0) as file:
        block = bytearray(1 << 20)
        view = memoryview(block)
        while count := file.readinto(block):
            digest.update(view[:count])
            num_bytes += count
    return WrittenFile(num_bytes, digest.hexdigest())
