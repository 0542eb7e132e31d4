"""A damaged build: which file, and what is wrong with it.

A build can be damaged after it was made (a shard deleted, a copy cut short). Missing
shard files, and shards of another size than the build wrote, are found when a build is
opened, cheaply (one listing of its folder, `check_shard_files`); other damage when a
reader reads them (`naming_damaged_shards`, `tf_read_error`, `inspect_shard`). Either
way the reader raises `DamagedBuildError`, naming the file and the command that checks
every file of the build.
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import tensorflow_datasets as tfds
from etils import epath

from imagenet_pi import errors, paths


class DamagedBuildError(errors.ImagenetPiError, ValueError):
    """A file of a build is missing, cut short or unreadable; the message names it."""


def check_build_command(name: str, data_dir: str) -> str:
    """The `imagenet-pi check-build` command that checks every file of `name`'s build."""
    return f"imagenet-pi check-build --dataset {name} --data-dir {data_dir}"


def check_shard_files(builder: tfds.core.DatasetBuilder) -> None:
    """Raises DamagedBuildError if a shard file that dataset_info.json lists is missing, is
    not a file, or has another size than the build recorded writing.

    One listing of the build's folder, whatever the number of shards. Sizes are compared
    where the folder is on a local disk (the listing gives them) and the build recorded
    them (`build_checks`); a remote folder is checked for missing files only.
    """
    from imagenet_pi import build_checks  # it opens builds through `built_datasets`

    folder = os.fspath(builder.data_path)
    if os.path.isdir(folder):
        with os.scandir(folder) as entries:
            sizes = {entry.name: _file_size(entry) for entry in entries}
    else:  # a remote file system: names only
        sizes = {path.name: _UNKNOWN_SIZE for path in builder.data_path.iterdir()}
    expected = [path for split in builder.info.splits.values() for path in split.filepaths]
    missing = [path for path in expected if epath.Path(path).name not in sizes]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise damaged_file_error(
            missing[0],
            f"missing{more}: dataset_info.json lists {len(expected)} shard files, "
            f"{len(missing)} of them are not there",
        )
    recorded = build_checks.recorded_files(builder)
    for path in expected:
        name = epath.Path(path).name
        size = sizes[name]
        if size is None:
            raise damaged_file_error(path, paths.not_a_file(path) or "is not a regular file")
        written = recorded.get(name, {}).get("num_bytes")
        if size != _UNKNOWN_SIZE and written is not None and size != int(written):
            raise damaged_file_error(
                path,
                f"the file has {size} bytes where the build wrote {written} (cut short, "
                "or changed since)",
            )


_UNKNOWN_SIZE = -1


def _file_size(entry: os.DirEntry) -> int | None:
    """The size of the file `entry` is (or links to); None if it is no regular file."""
    try:
        return entry.stat().st_size if entry.is_file() else None
    except OSError:  # a broken link
        return None


def damaged_file_error(path: str | os.PathLike, problem: str) -> DamagedBuildError:
    """The error about `path`, a file in the version folder of a build, and its `problem`."""
    version_dir = epath.Path(path).parent  # <root>/<dataset>/<config>/<version>
    name = f"{version_dir.parent.parent.name}/{version_dir.parent.name}"
    root = os.fspath(version_dir.parents[2])
    return DamagedBuildError(
        f"{os.fspath(path)}: damaged build of {name} {version_dir.name}: {problem}. Check every "
        f"file of the build with `{check_build_command(name, root)}`, then delete "
        f"{os.fspath(version_dir)} and build it again."
    )


@dataclasses.dataclass(frozen=True)
class Shard:
    """One shard file of a split, and what dataset_info.json says it holds."""

    path: str
    num_records: int


@dataclasses.dataclass(frozen=True)
class BuiltSplit:
    """The shard files behind a split (or slice) of a build, in the readers' index order.

    Picklable (grain's worker processes and DataLoader workers get it), so that a reader
    anywhere can name the file a failed read came from.

    Attributes:
      file_format: "tfrecord", "array_record", ...
      shards: the files the split reads, in order, with their record counts.
      starts: `starts[i]` is the index of the first example read from `shards[i]`.
      skips: `skips[i]` is the first record of `shards[i]` the split reads.
    """

    file_format: str
    shards: tuple[Shard, ...]
    starts: tuple[int, ...]
    skips: tuple[int, ...]

    @classmethod
    def of(cls, builder: tfds.core.DatasetBuilder, split: Any) -> BuiltSplit:
        """The shards of `split` (any TFDS split spec) in `builder`'s file format."""
        shards, starts, skips, start = [], [], [], 0
        for instruction in builder.info.splits[split].file_instructions:
            shards.append(Shard(os.fspath(instruction.filename), instruction.examples_in_shard))
            starts.append(start)
            skips.append(instruction.skip)
            start += instruction.take
        return cls(builder.info.file_format.value, tuple(shards), tuple(starts), tuple(skips))

    def shard_of(self, index: int) -> tuple[Shard, int]:
        """The shard holding example `index` of the split, and the record's number in it."""
        position = bisect.bisect_right(self.starts, index) - 1
        return self.shards[position], self.skips[position] + index - self.starts[position]

    def read_error(self, failure: str, indices: Iterable[int] | None = None) -> DamagedBuildError:
        """The error to raise when reading `indices` (None: any example) failed.

        Inspects their shards and names the first damaged one; if none looks damaged,
        names the first of them with the reader's `failure`.
        """
        if indices is None:
            shards = list(dict.fromkeys(self.shards))
        else:
            shards = list(dict.fromkeys(self.shard_of(int(index))[0] for index in indices))
        for shard in shards:
            problem = inspect_shard(shard, self.file_format)
            if problem is not None:
                return damaged_file_error(shard.path, problem)
        others = "" if len(shards) == 1 else f" (or one of {len(shards) - 1} other shards)"
        return damaged_file_error(shards[0].path, f"reading it{others} failed: {failure}")

    def check_records(self, records: Sequence[bytes], indices: Sequence[int]) -> None:
        """Raises DamagedBuildError if a record read for `indices` is empty.

        array_record readers give b"" for records past the end of a file cut short; a
        serialized example is never empty.
        """
        for record, index in zip(records, indices):
            if not record:
                _, number = self.shard_of(int(index))
                raise self.read_error(
                    f"record {number} of that file, example {index} of the split, read as empty",
                    [index],
                )


def inspect_shard(shard: Shard, file_format: str) -> str | None:
    """What is wrong with a shard file, or None if it holds the records it should.

    Reads only the record headers of a TFRecord file and the index of an array_record
    file; other formats are checked for existence only.
    """
    path = epath.Path(shard.path)
    if not path.exists():
        return "the file is missing"
    if path.is_dir():
        return "it is a folder, not the shard file the build wrote"
    if file_format == "tfrecord":
        found = _tfrecord_records(path)
    elif file_format == "array_record":
        found = _array_record_records(path)
    else:
        return None
    if isinstance(found, str):
        return found
    if found != shard.num_records:
        return (
            f"the file holds {found} records, dataset_info.json says {shard.num_records} "
            f"({path.stat().length} bytes: cut short?)"
        )
    return None


def _tfrecord_records(path: epath.Path) -> int | str:
    """The number of records of a TFRecord file, walking its record headers; or what is
    wrong with the file (a record that runs past its end)."""
    # A record: length (uint64), its CRC (uint32), the data, the data's CRC (uint32).
    size = path.stat().length
    count = offset = 0
    with path.open("rb") as file:
        while offset < size:
            header = file.read(12)
            if len(header) < 12:
                return (
                    f"the file ends inside the header of record {count} (byte {offset} of "
                    f"{size}: cut short)"
                )
            (length,) = struct.unpack("<Q", header[:8])
            offset += 12 + length + 4
            if offset > size:
                return (
                    f"the file ends inside record {count}: it needs {offset} bytes, "
                    f"the file has {size} (cut short)"
                )
            file.seek(offset)
            count += 1
    return count


def _array_record_records(path: epath.Path) -> int | str:
    """The number of records of an array_record file, from its index; or what is wrong
    with the file (an index that cannot be read)."""
    from array_record.python import array_record_module

    try:
        reader = array_record_module.ArrayRecordReader(os.fspath(path))
    except (RuntimeError, ValueError, OSError) as error:
        return f"the file cannot be read as array_record ({error}; cut short?)"
    count, ok = reader.num_records(), reader.ok()
    try:
        reader.close()
    except RuntimeError:  # raised, with no message, by a reader that is not ok
        ok = False
    if not ok:
        return f"array_record reads {count} records and reports the file damaged (cut short?)"
    return count


def naming_damaged_shards(batches: Iterable[Any], built_split: BuiltSplit) -> Iterator[Any]:
    """`batches` of a TensorFlow pipeline reading `built_split`, with its errors about
    damaged files raised as DamagedBuildError."""
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except Exception as error:
            damaged = tf_read_error(error, built_split)
            if damaged is None:
                raise
            raise damaged from error
        yield batch


def tf_read_error(error: BaseException, built_split: BuiltSplit) -> DamagedBuildError | None:
    """The DamagedBuildError behind an error of a TensorFlow pipeline reading
    `built_split`, or None if the error is not about the build's files.

    TensorFlow names no file for a record cut short ("truncated record at 1675"), nor for
    a file with fewer records than dataset_info.json says ("expected to contain N
    elements"); bytes that do not parse may come from a damaged file too, and a folder in
    a shard's place fails as a precondition ("Is a directory").
    """
    import tensorflow as tf

    message = _tf_message(error)
    # FailedPrecondition: fewer records than dataset_info.json says, or a folder in a
    # shard's place ("<path>; Is a directory").
    if isinstance(error, tf.errors.DataLossError | tf.errors.NotFoundError) or (
        isinstance(error, tf.errors.FailedPreconditionError)
        and ("expected to contain" in message or "Is a directory" in message)
    ):
        return built_split.read_error(message)
    if isinstance(error, tf.errors.InvalidArgumentError):
        for shard in dict.fromkeys(built_split.shards):
            problem = inspect_shard(shard, built_split.file_format)
            if problem is not None:
                return damaged_file_error(shard.path, problem)
    return None


def _tf_message(error: BaseException) -> str:
    """A TensorFlow error's own words, without the op and function names around them."""
    message = getattr(error, "message", str(error))
    message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message)
    return re.sub(r"\s*\[Op:\w+\].*$", "", message, flags=re.DOTALL).strip()
