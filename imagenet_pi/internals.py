"""Every use this package makes of other libraries' internals (private names, undocumented
behaviour): TensorFlow Datasets, Apache Beam, grain and argparse. No other module of the
package uses a private name of these libraries.

Written against TensorFlow Datasets 4.9.10, Beam 2.77+, grain 0.2.18. Each reliance below
has one test in `tests/test_internals.py`, named after it, that checks the library still
behaves as relied upon: a release that breaks one fails that test, not a user's build.

TensorFlow Datasets:

- the dataset registry (`register_builder`): replacing the `imagenet_pi` TFDS ships, whose
  module TFDS's layout of its own builders names;
- the data_dirs TFDS searches (`data_dirs`);
- the look-up of a pre-computed DatasetInfo in TFDS's GCS bucket, which leaves an empty
  temporary folder for every builder of a dataset not built yet (`without_gcs_lookup`);
- the `incomplete.*` folders `download_and_prepare` builds in (`incomplete_dir_pattern`),
  which `builder.data_dir` points at while the splits are written (`generation_dir`);
- the downloader's module-level retry count (`few_download_retries`);
- the builder hooks `_example_writer` and `_download_and_prepare` (`BuilderHooks`);
- checksums.tsv found beside the builder's module, and the `_checksums_path` hook that
  moves it (`checksums_path`, `checksums_path_override`; tests use the latter);
- TFDS's order of examples in a split, by a hash of their keys (`write_order`);
- what TFDS's writer does with a split, which `parallel_build` does on many processes and
  byte for byte the same for any worker count: the encoding and serialization of an
  example (`ExampleSerializer`, deterministic where TFDS's is not), the number of shards
  and their boundaries (`shard_boundaries`), the shard file names (`shard_paths`, and
  `is_shard_file_name` for any split and format), the
  split's `SplitInfo` (`split_info`), and TFDS's progress bar (`progress_bar`).
- a split's `num_bytes`, the sum of its serialized examples, which gives the size of its
  TFRecord files (`tfrecord_split_bytes`).
- how TFDS's `imagenet2012` stores an example on disk: a `tf.train.Example` whose
  `file_name` and `image` are bytes and whose `label` is an int64 (`imagenet2012_record`);
- the files TFDS ships inside its package for other datasets: the synset tables of
  `imagenet2012` (`imagenet2012_label_table`) and the class names list of `siscore`
  (`imagenet_class_names`).

argparse is relied upon for the list of a parser's arguments (`parser_actions`,
`subcommand_parsers`), which the tests check the documented flags against.

grain is relied upon for the shared memory of the arrays its workers send
(`free_grain_shared_memory`).

Beam is relied upon for one undocumented behaviour, tested there too: runners that run
workers in other processes re-raise a worker's error as their own, with the worker's
message in its text. A worker's `JoinError` is found in it by markers around its message
(`join.JoinError.marked`), never by the module path the traceback prints.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from google.protobuf import message
from tensorflow_datasets.core import example_serializer, file_adapters, hashing, registered
from tensorflow_datasets.core import writer as tfds_writer
from tensorflow_datasets.core.download import downloader
from tensorflow_datasets.core.utils import file_utils, shard_utils, tqdm_utils

from imagenet_pi.generation import record_files

# --- The registry -------------------------------------------------------------------------


def register_builder(builder_cls: type) -> None:
    """Makes `builder_cls` the class `tfds.builder(builder_cls.name)` resolves to.

    TFDS has no public way to replace a registered builder: registering a second class of
    the same name raises "already registered", and it ships its own `imagenet_pi`. TFDS's
    own builder of the name, if any (`tensorflow_datasets.datasets.<name>.<name>_dataset_
    builder`, TFDS's layout), is imported first, so that it registers now and can never
    raise when imported later.

    Args:
      builder_cls: a `DatasetBuilder` subclass defined with `skip_registration=True`.
    """
    name = builder_cls.name
    tfds_own = f"tensorflow_datasets.datasets.{name}.{name}_dataset_builder"
    if importlib.util.find_spec(f"tensorflow_datasets.datasets.{name}") is not None:
        importlib.import_module(tfds_own)
    registered._DATASET_REGISTRY[name] = builder_cls


# --- Data dirs and the folders of a build --------------------------------------------------


def data_dirs(data_dir: str | os.PathLike | None) -> list[epath.Path]:
    """The data_dirs TFDS looks in for `data_dir`: it alone, or every registered one if None."""
    return [epath.Path(path) for path in file_utils.list_data_dirs(data_dir)]


def generation_dir(builder: tfds.core.DatasetBuilder) -> epath.Path:
    """The folder a build writes its files into while TFDS generates it.

    During `download_and_prepare`, TFDS points `builder.data_dir` at the build's
    `incomplete.*` folder, renamed to the version folder once the build succeeds and
    deleted if it fails; files written there are part of the build or of its failure.
    """
    return epath.Path(builder.data_dir)


def without_gcs_lookup(info: tfds.core.DatasetInfo) -> tfds.core.DatasetInfo:
    """`info`, set not to look for a pre-computed copy of itself in TFDS's GCS bucket.

    Making a builder of a dataset not built yet, TFDS calls
    `info.initialize_from_bucket()`, which makes a temporary folder (`/tmp/tmp*tfds`),
    asks GCS for the dataset's info files, and leaves the folder behind when there are
    none: one empty folder every time. ImageNet-PI has no such files there.
    """
    info.initialize_from_bucket = lambda: None  # shadows the method on this instance only
    return info


def incomplete_dir_pattern(version: str) -> re.Pattern[str]:
    """Matches the names of the temporary folders `download_and_prepare` builds `version` in.

    TFDS builds `<config dir>/<version>` in `<config dir>/incomplete.<6 letters or digits>_
    <version>` and renames it when done; a killed build leaves that folder behind.
    """
    return re.compile(rf"^incomplete\.[A-Z0-9]{{6}}_{re.escape(version)}$")


# --- Downloads -----------------------------------------------------------------------------

# Two retries absorb a dropped connection yet fail in under a second (backoff 0 s, 0.4 s).
FAIL_FAST_RETRIES = 2

_retries_lock = threading.Lock()
_downloads_inside = 0  # downloads in progress under `few_download_retries`, across threads
_saved_max_retries: int | None = None


@contextlib.contextmanager
def few_download_retries() -> Iterator[None]:
    """Caps TFDS's per-request retries at `FAIL_FAST_RETRIES` while inside (thread-safe).

    TFDS retries every request `downloader.MAX_RETRIES` (10) times with exponential backoff,
    about 3.5 minutes offline; it reads that module-level int each time it opens a request.
    The cap is process-wide while any download is inside: other TFDS downloads of the
    process retry as few times meanwhile. TFDS 4.9 offers no narrower scope: no argument
    of `DownloadManager`, `DownloadConfig` or the downloader sets the count; the request
    builds its `urllib3.Retry` from the module global; and it runs in the threads of one
    downloader per process (`get_downloader` is memoized), so neither a download manager
    of our own nor thread-local state reaches it. Scoping it would mean replacing TFDS's
    private request function (process-wide again) or rewriting its download cache.
    """
    global _downloads_inside, _saved_max_retries
    with _retries_lock:
        if _downloads_inside == 0:
            _saved_max_retries = downloader.MAX_RETRIES
        _downloads_inside += 1
        downloader.MAX_RETRIES = min(_saved_max_retries, FAIL_FAST_RETRIES)
    try:
        yield
    finally:
        with _retries_lock:
            _downloads_inside -= 1
            if _downloads_inside == 0:
                downloader.MAX_RETRIES = _saved_max_retries


# --- Builder hooks -------------------------------------------------------------------------


class ExampleWriter(tfds_writer.ExampleWriter):
    """TFDS's shard writer with array_record shards written by `record_files` (Beam builds).

    TFDS calls `write(path, (key, serialized example) pairs)` once per shard, in-process
    and on Beam workers. Other formats (TFRecord, ...) go through TFDS unchanged.
    """

    def write(self, path: os.PathLike | str, examples: Iterable[tuple[Any, bytes]]):
        """Writes `(key, serialized example)` pairs to the shard at `path`."""
        if self.file_format != file_adapters.FileFormat.ARRAY_RECORD:
            return super().write(path, examples)
        record_files.write_array_record(path, (serialized for _, serialized in examples))
        return None


class BuilderHooks:
    """The private `DatasetBuilder` hooks the imagenet_pi builder overrides, and only those.

    Put it before `tfds.core.GeneratorBasedBuilder` in the bases. The subclass provides
    `generating(on_beam=...)`, a context manager around the generation of all splits.
    """

    def _example_writer(self) -> ExampleWriter:
        # TFDS writes every shard through the writer this returns.
        return ExampleWriter(file_format=self.info.file_format)

    def _download_and_prepare(self, dl_manager, download_config) -> None:
        # TFDS calls this once a build, around `_split_generators` and the writing of every
        # split, which runs on Beam when the user gave Beam a runner or options. Without
        # Beam, the subclass writes the splits itself (`write_splits`), in place of TFDS's
        # single-process writer.
        on_beam = bool(download_config.beam_runner or download_config.beam_options)
        with self.generating(on_beam=on_beam):
            if on_beam:
                super()._download_and_prepare(dl_manager, download_config)
                return
            split_infos = self.write_splits(dl_manager, download_config)
            self.info.set_splits(tfds.core.SplitDict(split_infos))

    def filename_template(self, split: str) -> tfds.core.ShardedFileTemplate:
        """TFDS's template of the shard file names of `split`, in the folder being built."""
        return self._get_filename_template(split_name=split)


# --- checksums.tsv -------------------------------------------------------------------------


def checksums_path(builder_cls: type) -> epath.Path:
    """The checksums.tsv TFDS reads `builder_cls`'s URL pins from (`builder_cls.url_infos`).

    By default `checksums.tsv` beside the module defining the builder.
    """
    return builder_cls._checksums_path


def checksums_path_override(path: str | os.PathLike) -> dict[str, Any]:
    """Class attributes that make a builder subclass read its URL pins from `path`."""
    tsv = epath.Path(path)
    return {"_checksums_path": tfds.core.utils.classproperty(classmethod(lambda cls: tsv))}


# --- Order of the examples in a split ------------------------------------------------------


def write_order(split: str, keys: Sequence[str]) -> np.ndarray:
    """`(len(keys),) int64`: position i holds the index of the key TFDS writes i-th.

    TFDS's writers (in-process and Beam) sort a split's examples by the 128-bit md5 hash
    of their key salted with the split name.
    """
    hasher = hashing.Hasher(split)
    hashes = [hasher.hash_key(key) for key in keys]
    return np.array(sorted(range(len(keys)), key=hashes.__getitem__), np.int64)


# --- What TFDS's writer does with a split ----------------------------------------------


class ExampleSerializer:
    """Encodes and serializes examples of `features` as TFDS's writer does, deterministically.

    TFDS's writer serializes the `tf.train.Example` it builds with protobuf's default
    serialization, whose order of map entries (the feature names) is not fixed: two
    builds of the same example give different bytes. Deterministic serialization
    (entries sorted by name) gives the same bytes every time; readers parse both alike.
    Picklable-free by design: workers inherit it when forked.
    """

    def __init__(self, features: tfds.features.FeaturesDict) -> None:
        self._features = features
        self._serializer = example_serializer.ExampleSerializer(features.get_serialized_info())

    def __call__(self, example: dict[str, Any]) -> bytes:
        """The serialized `tf.train.Example` of a raw example (as `_generate_examples` yields)."""
        encoded = self._features.encode_example(example)
        return self._serializer.get_tf_example(encoded).SerializeToString(deterministic=True)


def shard_boundaries(
    shard_config: shard_utils.ShardConfig, num_bytes: int, num_examples: int
) -> list[int]:
    """The end (exclusive) of every shard of a split, in examples, as TFDS's writer cuts it.

    Args:
      shard_config: `download_config.get_shard_config()` (the user's `num_shards`, or
        shard sizes between 64 MiB and 1 GiB by default).
      num_bytes: the size of the split's serialized examples, summed.
      num_examples: the examples of the split (>= 1).
    """
    num_shards = shard_config.get_number_shards(num_bytes, num_examples)
    return [int(end) for end in shard_utils.get_shard_boundaries(num_examples, num_shards)]


def shard_paths(template: tfds.core.ShardedFileTemplate, num_shards: int) -> list[str]:
    """The paths of a split's `num_shards` shard files, as TFDS names them."""
    return [
        os.fspath(template.sharded_filepath(shard_index=index, num_shards=num_shards))
        for index in range(num_shards)
    ]


def is_shard_file_name(dataset_name: str, file_name: str) -> bool:
    """Whether TFDS names `file_name` as a shard file of `dataset_name`, of any split and
    file format (`<dataset>-<split>.<format>-00000-of-00003`)."""
    template = tfds.core.ShardedFileTemplate(data_dir=epath.Path("."), dataset_name=dataset_name)
    info = template.parse_filename_info(file_name)
    return info is not None and info.dataset_name == dataset_name and info.shard_index is not None


def split_info(
    template: tfds.core.ShardedFileTemplate, shard_lengths: Sequence[int], num_bytes: int
) -> tfds.core.SplitInfo:
    """The `SplitInfo` TFDS's writer records for a split written as `shard_lengths`."""
    return tfds.core.SplitInfo(
        name=template.split,
        shard_lengths=[int(length) for length in shard_lengths],
        num_bytes=int(num_bytes),
        filename_template=template,
    )


def write_with_file_adapter(
    path: str, file_format: str, records: Iterable[bytes | memoryview]
) -> None:
    """Writes serialized examples to `path` with TFDS's own adapter for `file_format`.

    For formats other than TFRecord and array_record (which `record_files` writes).
    """
    adapter = file_adapters.ADAPTER_FOR_FORMAT[file_adapters.FileFormat(file_format)]
    adapter.write_examples(path, ((None, bytes(record)) for record in records))


def progress_bar(**kwargs: Any) -> Any:
    """TFDS's tqdm progress bar (silent after `tfds.disable_progress_bar()`)."""
    return tqdm_utils.tqdm(**kwargs)


# --- The size of a prepared split ----------------------------------------------------------

# TFRecord frames every record with 16 bytes: its length (8) and the masked CRC32C of the
# length (4) and of the data (4), as TensorFlow documents the format.
_TFRECORD_FRAMING_BYTES = 16


def tfrecord_split_bytes(split_info: tfds.core.SplitInfo) -> int | None:
    """The bytes the TFRecord files of a prepared split hold together, from its metadata.

    TFDS records a split's `num_bytes` as the sum of its serialized examples (the files
    add the framing of each record). None when the metadata does not record it.
    """
    if not split_info.num_bytes:
        return None
    return int(split_info.num_bytes) + _TFRECORD_FRAMING_BYTES * split_info.num_examples


# --- TFDS's encoding of a prepared imagenet2012 ---------------------------------------------

# What `imagenet2012_record` raises for a record that is not such an example.
IMAGENET2012_RECORD_ERRORS = (message.DecodeError, ValueError, IndexError)


@functools.cache
def _tf_example_class() -> type:
    # TensorFlow's protobuf classes, imported once, on first use: they import TensorFlow.
    from tensorflow.core.example import example_pb2

    return example_pb2.Example


def imagenet2012_record(serialized: bytes) -> tuple[str, int, bytes]:
    """`(file_name, label, image)` of one serialized example of TFDS's `imagenet2012`.

    TFDS stores each example as a `tf.train.Example`: `file_name` as one bytes value (UTF-8;
    other bytes come back as surrogates), `label` as one int64 (an index into the
    dataset's label names), `image` as the encoded image bytes. Parsed with protobuf, not
    by TensorFlow ops: build workers are forked and must not call TensorFlow.

    Raises:
      One of `IMAGENET2012_RECORD_ERRORS`: `serialized` is not such an example.
    """
    features = _tf_example_class().FromString(serialized).features.feature
    name = features["file_name"].bytes_list.value[0].decode("utf-8", "surrogateescape")
    (label,) = features["label"].int64_list.value
    (image,) = features["image"].bytes_list.value
    return name, int(label), image


# --- Files TFDS ships for other datasets --------------------------------------------------


def imagenet2012_label_table(name: str) -> epath.Path:
    """A label table TFDS ships with its `imagenet2012` dataset, inside its own package.

    Args:
      name: `labels.txt` (the 1000 sorted synset ids, one a line: the dataset's label
        names) or `validation_labels.txt` (the synset of each of the 50,000 validation
        images, in the order of their sorted file names).
    """
    return epath.Path(tfds.core.tfds_path(f"datasets/imagenet2012/{name}"))


def imagenet_class_names() -> tuple[str, ...] | None:
    """The usual human-readable names of the 1000 ILSVRC2012 classes, in class-index order.

    TFDS keeps no names file for imagenet2012; its `siscore` dataset carries the list in a
    module of its own. None if this TFDS version does not have it.
    """
    try:
        from tensorflow_datasets.datasets.siscore import labels
    except ImportError:
        return None
    return tuple(getattr(labels, "IMAGENET_LABELS_LIST", ()))


# --- grain ---------------------------------------------------------------------------------


def free_grain_shared_memory(value: Any) -> None:
    """Frees the shared memory block of an array a grain worker sent, once it is copied out.

    grain (0.2.x) hands out arrays backed by shared memory (`SharedMemoryArray`, with its
    block as `.shm` and `._unlink_on_del` set while grain still owns the unlinking) and
    unlinks each block later, in a thread pool of its own; a block still waiting there
    when Python exits stays registered with multiprocessing's resource tracker, which
    then warns on stderr ("There appear to be N leaked shared_memory objects"). Any other
    value is left alone.
    """
    if getattr(value, "_unlink_on_del", False):
        value.shm.unlink()
        value._unlink_on_del = False  # grain's __del__ still closes the mapping


# --- argparse ------------------------------------------------------------------------------


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every argument of `parser` (flags, positionals, subcommands), without `--help`.

    argparse keeps them in `parser._actions` and has no public way to list them; the
    tests walk them to check the documented flags against the real ones.
    """
    return [action for action in parser._actions if not isinstance(action, argparse._HelpAction)]


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of `parser`'s subcommands, by name (empty if it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
