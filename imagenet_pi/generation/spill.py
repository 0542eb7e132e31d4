"""Examples spilled to disk by their place in a split, and read back a bucket at a time.

A split's positions (its examples in TFDS's order) are cut into a power of two of
buckets, at most 1024 (fewer for small splits, each of at least `MIN_BUCKET_EXAMPLES`),
at the boundaries of as many equal shards: the boundaries of every power-of-two shard
count up to the number of buckets (TFDS picks 1024 shards for splits up to 1 TiB) are
then bucket boundaries, and a shard reads whole buckets. Each worker appends the examples
it reads to one file a bucket, `<spill dir>/<bucket>.<pid>`: a position (int64), a length
(uint32), the serialized example.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from imagenet_pi.generation import record_files

MAX_BUCKETS = 1024
# Fewer buckets for small splits: fewer spill files, each of at least this many examples.
MIN_BUCKET_EXAMPLES = 64

_HEADER = struct.Struct("<qI")


def num_buckets_for(num_examples: int) -> int:
    """The power of two of buckets a split of `num_examples` spills to (at most 1024)."""
    wanted = max(1, math.ceil(num_examples / MIN_BUCKET_EXAMPLES))
    return min(MAX_BUCKETS, 1 << (wanted - 1).bit_length())


class Buckets:
    """The buckets of a split of `num_examples` positions."""

    def __init__(self, num_examples: int) -> None:
        count = num_buckets_for(num_examples)
        # `(count + 1,) int64`: bucket b holds positions edges[b] .. edges[b + 1] - 1.
        self.edges = np.array(
            [round(num_examples * bucket / count) for bucket in range(count + 1)], np.int64
        )

    def of(self, position: int) -> int:
        """The bucket of a position."""
        return int(np.searchsorted(self.edges, position, side="right")) - 1

    def spanned(self, positions: np.ndarray) -> range:
        """The buckets that hold `positions` (sorted)."""
        return range(self.of(positions[0]), self.of(positions[-1]) + 1)


class SpillWriter:
    """A worker's spill files of one split, kept open while it reads parts of the split.

    Each example is appended with its position and length, in one system call.
    """

    def __init__(self, split: str, buckets: Buckets, spill_dir: str) -> None:
        self.split = split
        self._buckets = buckets
        self._spill_dir = spill_dir
        self._files: dict[int, int] = {}  # bucket -> file descriptor
        self._new: dict[int, str] = {}  # bucket -> file created since `new_files`

    def append(self, position: int, serialized: bytes) -> None:
        bucket = self._buckets.of(position)
        fd = self._files.get(bucket)
        if fd is None:
            path = os.path.join(self._spill_dir, f"{bucket:04d}.{os.getpid()}")
            fd = self._files[bucket] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._new[bucket] = path
        record_files.write_all(fd, [_HEADER.pack(position, len(serialized)), serialized])

    def new_files(self) -> dict[int, str]:
        """The files created since the last call, by bucket (the parent must know them all)."""
        new, self._new = self._new, {}
        return new

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


def spilled_records(
    buckets: Buckets,
    positions: np.ndarray,
    spill_files: dict[int, Sequence[str]],
    progress: Callable[[int], None],
    where: str,
) -> Iterator[bytes]:
    """The spilled examples at `positions` (sorted), in order, one bucket in memory at a time.

    Args:
      buckets: the split's buckets.
      positions: `(n,) int64`, sorted positions to read.
      spill_files: bucket -> the spill files of that bucket (every worker's).
      progress: called with 1 for each example given.
      where: the split and spill folder, for the message of an example never spilled.
    """
    start = 0
    for bucket in buckets.spanned(positions):
        end = int(np.searchsorted(positions, buckets.edges[bucket + 1], side="left"))
        wanted, start = positions[start:end], end
        if not len(wanted):
            continue
        spilled = _read_bucket(spill_files.get(bucket, ()))
        for position in wanted.tolist():
            record = spilled.pop(position, None)
            if record is None:
                raise RuntimeError(
                    f"{where}: the example at position {position} was never spilled; this "
                    "is a bug of imagenet_pi."
                )
            yield record
            progress(1)


def _read_bucket(paths: Sequence[str]) -> dict[int, bytes]:
    """Position -> example bytes, for every example spilled to the files at `paths`."""
    spilled: dict[int, bytes] = {}
    for path in sorted(paths):
        with open(path, "rb") as file:
            # Each example is read into its own bytes object: one copy, from the page cache.
            while header := file.read(_HEADER.size):
                position, length = _HEADER.unpack(header)
                spilled[position] = file.read(length)
    return spilled
