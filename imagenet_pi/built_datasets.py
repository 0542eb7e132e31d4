"""Opening a dataset this package built: found, complete, and stored as its reader needs.

The one way every reader (the JAX input pipeline, the PyTorch dataset, `stats`,
`pi_lookup`, `predict`) opens a built config, released or custom: a custom config is not
in the code, so TFDS finds it from the files of its build. Readers never import the
builder (the writer): what they need of a build's metadata is read here.

A build can be damaged after it was made (a shard deleted, a copy cut short). Missing
shard files are found when a build is opened, cheaply (one listing of its folder);
truncated ones when a reader reads them. Either way the reader raises
`DamagedBuildError`, naming the file and the command that checks every file of the build.
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from imagenet_pi import build_identity, errors


class DamagedBuildError(errors.ImagenetPiError, ValueError):
    """A file of a build is missing, cut short or unreadable; the message names it."""


def build_command(name: str, data_dir: str, file_format: str | None = None) -> str:
    """The `tfds build` command that builds `name` into `data_dir` (in `file_format`)."""
    file_format_flag = f" --file_format {file_format}" if file_format else ""
    return (
        f"tfds build {name} --imports imagenet_pi{file_format_flag} --manual_dir <manual_dir> "
        f"--data_dir {data_dir}"
    )


def check_build_command(name: str, data_dir: str) -> str:
    """The `imagenet-pi check-build` command that checks every file of `name`'s build."""
    return f"imagenet-pi check-build --dataset {name} --data-dir {data_dir}"


def open_built(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    file_format: str | None = None,
    reader: str = "this reader",
    check_shards: bool = True,
) -> tfds.core.DatasetBuilder:
    """The builder of `name` (e.g. "imagenet_pi/high_noise") as built in `data_dir`.

    `data_dir` may also be a folder inside the build, as a file browser shows it: the
    version folder (`<data_dir>/imagenet_pi/<config>/<version>`, read at that version),
    the config folder or the `imagenet_pi` folder.

    Args:
      name: "imagenet_pi/<config>", a released or a custom config.
      data_dir: where it was built; None for TFDS's default data_dirs.
      file_format: "tfrecord" or "array_record" if the reader needs one; the builder
        then reads that format.
      reader: who reads it, for the messages (e.g. "the PyTorch dataset").
      check_shards: refuse a build whose shard files are not all there. A build check,
        which reports every file itself, passes False.

    Warns:
      build_identity.PartialBuildWarning: it is a debug build (`max_examples_per_split`).

    Raises:
      FileNotFoundError: nothing of that name is built in `data_dir`.
      ValueError: it is built, but not in `file_format`.
      DamagedBuildError: shard files of the build are missing (`check_shards`).
    """
    shown_dir = os.fspath(data_dir) if data_dir is not None else None
    builder = _builder(name, shown_dir)
    if not builder.is_prepared():
        builder = _builder_inside(name, shown_dir) or builder
    if not builder.is_prepared():
        version_dir = builder.data_path
        root = os.fspath(version_dir.parents[2])  # <root>/imagenet_pi/<config>/<version>
        raise FileNotFoundError(
            f"{name} is not built in {root}: expected {version_dir / 'dataset_info.json'}, "
            f"found no such file. Build it first for {reader}:\n"
            f"  {build_command(name, root, file_format)}\nor pass the data_dir it was built in."
        )
    build_identity.warn_if_partial(builder)  # a debug build is never taken for the dataset
    if file_format is not None:
        check_file_format(builder, file_format, reader)
        if builder.info.file_format.value != file_format:  # built in several: read that one
            builder = _builder(f"{name}:{builder.info.version}", _root(builder), file_format)
    if check_shards:
        check_shards_exist(builder)
    return builder


def _builder(
    name: str, data_dir: str | None, file_format: str | None = None
) -> tfds.core.DatasetBuilder:
    kwargs = {"file_format": file_format} if file_format else {}
    try:
        return tfds.builder(name, data_dir=data_dir, **kwargs)
    except ValueError as error:  # TFDS's DatasetNotFoundError, or an unknown config
        raise FileNotFoundError(
            f"{name}: not found in data_dir {data_dir or '(TFDS default)'} ({error}). Build it "
            f"first:\n  {build_command(name, data_dir or '<data_dir>', file_format)}\n"
            "or pass the data_dir it was built in."
        ) from error


def _builder_inside(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder | None:
    """The build of `name` when `data_dir` is a folder inside it, not the data_dir; else None.

    Raises FileNotFoundError, saying what to pass, when `data_dir` is inside the build of
    another config.
    """
    if data_dir is None or "/" not in name:
        return None
    dataset, config = name.split("/", 1)
    config = config.split(":", 1)[0]
    path = epath.Path(data_dir)
    version = None
    if _is_version_dir(path) and path.parent.parent.name == dataset:
        version, config_dir = path.name, path.parent
    elif path.parent.name == dataset and _is_config_dir(path):
        config_dir = path
    elif path.name == dataset and path.is_dir() and any(map(_is_config_dir, path.iterdir())):
        config_dir = path / config
    else:
        return None
    root = config_dir.parent.parent
    if config_dir.name != config:
        raise FileNotFoundError(
            f"{name}: data_dir {data_dir} is inside the build of {dataset}/{config_dir.name}, "
            f"not of {name}. Pass the data_dir that holds {dataset}/: data_dir={os.fspath(root)}"
        )
    versioned = f"{dataset}/{config}:{version}" if version else f"{dataset}/{config}"
    return _builder(versioned, os.fspath(root))


def _is_version_dir(path: epath.Path) -> bool:
    return (path / "dataset_info.json").exists()


def _is_config_dir(path: epath.Path) -> bool:
    """Whether `path` holds a built version (`<version>/dataset_info.json`)."""
    return path.is_dir() and any(map(_is_version_dir, path.iterdir()))


def _root(builder: tfds.core.DatasetBuilder) -> str:
    """The data_dir of a build: `<data_dir>/<dataset>/<config>/<version>`."""
    return os.fspath(builder.data_path.parents[2])


def _config_name(builder: tfds.core.DatasetBuilder) -> str:
    """ "imagenet_pi/<config>", the name users pass."""
    return builder.info.full_name.rsplit("/", 1)[0]


def check_file_format(
    builder: tfds.core.DatasetBuilder, file_format: str, reader: str = "this reader"
) -> None:
    """Raises ValueError unless `builder`'s build holds `file_format` shards."""
    formats = builder.info.available_file_formats()
    if file_format in {available.value for available in formats}:
        return
    found = ", ".join(sorted(available.value for available in formats))
    raise ValueError(
        f"{builder.info.full_name} in {builder.data_dir} is built as {found}; {reader} reads "
        f"{file_format}. Build it again as {file_format} in another data_dir (or delete "
        f"{builder.data_dir} first):\n"
        f"  {build_command(_config_name(builder), '<data_dir>', file_format)}"
    )


def check_shards_exist(builder: tfds.core.DatasetBuilder) -> None:
    """Raises DamagedBuildError if a shard file that dataset_info.json lists is missing.

    One listing of the build's folder, whatever the number of shards.
    """
    present = {path.name for path in builder.data_path.iterdir()}
    expected = [path for split in builder.info.splits.values() for path in split.filepaths]
    missing = [path for path in expected if epath.Path(path).name not in present]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise damaged_file_error(
            missing[0],
            f"missing{more}: dataset_info.json lists {len(expected)} shard files, "
            f"{len(missing)} of them are not there",
        )


def annotator_features_of(builder: tfds.core.DatasetBuilder) -> np.ndarray:
    """The `(16, 2) float32` annotator features of a built config, read from its metadata."""
    features = builder.info.metadata.get("annotator_features") if builder.info.metadata else None
    if features is None:
        raise ValueError(
            f"{builder.info.full_name} at {builder.data_dir} has no annotator_features in its "
            "metadata: build it with this package (`tfds build imagenet_pi/<config> "
            "--imports imagenet_pi`)."
        )
    return np.asarray(features, np.float32)


# ---------------------------------------------------------------------------------------
# Damaged shards: which file, and what is wrong with it.


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


# ---------------------------------------------------------------------------------------
# Reading columns of a build (no images): `stats`, `pi_lookup`.

# Examples a chunk: a TFRecord batch, or the records read at once from an array_record
# build (images included: about 110 MB of ImageNet).
_CHUNK = 1024


def read_columns(
    builder: tfds.core.DatasetBuilder, split: str, columns: Sequence[str]
) -> Iterator[dict[str, np.ndarray]]:
    """Some features of a split, in the split's order, in chunks of rows; no image decoded.

    Reads a TFRecord build with tf.data and an array_record build by random access, so it
    reads every build the other readers read. Yields dicts of numpy arrays of at most
    1024 rows each.

    Raises:
      DamagedBuildError: a shard is missing or damaged (names it).
    """
    decoding = tfds.decode.PartialDecoding({column: True for column in columns})
    built_split = BuiltSplit.of(builder, split)
    if builder.info.file_format.value == "array_record":
        yield from _array_record_columns(builder, split, decoding, built_split)
        return
    # No autocache: TFDS caches small splits, and a read that fails would log about the cache.
    read_config = tfds.ReadConfig(try_autocache=False)
    dataset = builder.as_dataset(
        split=split, decoders=decoding, shuffle_files=False, read_config=read_config
    )
    yield from naming_damaged_shards(tfds.as_numpy(dataset.batch(_CHUNK)), built_split)


def _array_record_columns(
    builder: tfds.core.DatasetBuilder,
    split: str,
    decoding: tfds.decode.PartialDecoding,
    built_split: BuiltSplit,
) -> Iterator[dict[str, np.ndarray]]:
    import tensorflow as tf

    source = builder.as_data_source(
        split=split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES
    )
    features = decoding.extract_features(builder.info.features)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def parse(records: tf.Tensor) -> dict[str, tf.Tensor]:
        ds = tf.data.Dataset.from_tensor_slices(records)
        ds = ds.map(features.deserialize_example, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(tf.cast(tf.size(records), tf.int64)).get_single_element()

    for start in range(0, len(source), _CHUNK):
        indices = list(range(start, min(start + _CHUNK, len(source))))
        try:
            records = source.__getitems__(indices)
        except (RuntimeError, OSError) as error:  # array_record's errors name no file
            raise built_split.read_error(str(error), indices) from error
        built_split.check_records(records, indices)
        yield tfds.as_numpy(parse(tf.constant(records, tf.string)))


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
    elements"); bytes that do not parse may come from a damaged file too.
    """
    import tensorflow as tf

    message = _tf_message(error)
    if isinstance(error, tf.errors.DataLossError | tf.errors.NotFoundError) or (
        isinstance(error, tf.errors.FailedPreconditionError) and "expected to contain" in message
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
