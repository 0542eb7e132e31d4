"""Opening a dataset this package built: found, complete, and stored as its reader needs.

The one way every reader (the JAX input pipeline, the PyTorch dataset, `stats`,
`pi_lookup`, `predict`) opens a built config, released or custom: a custom config is not
in the code, so TFDS finds it from the files of its build. Readers never import the
builder (the writer): what they need of a build's metadata is read here.

A build whose shard files are not all there is refused when it is opened; a damaged
shard is named when it is read (`damaged_builds`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds
from etils import epath
from google.protobuf import json_format

from imagenet_pi import build_identity
from imagenet_pi.damaged_builds import (  # re-exported: readers catch and call them here
    BuiltSplit,
    DamagedBuildError,
    check_shard_files,
    damaged_file_error,
    naming_damaged_shards,
)

# Examples a chunk of `read_columns`: a TFRecord batch, or the records read at once from an
# array_record build (images included: about 110 MB of ImageNet).
_CHUNK = 1024


def build_command(name: str, data_dir: str, file_format: str | None = None) -> str:
    """The `tfds build` command that builds `name` into `data_dir` (in `file_format`)."""
    file_format_flag = f" --file_format {file_format}" if file_format else ""
    return (
        f"tfds build {name} --imports imagenet_pi{file_format_flag} --manual_dir <manual_dir> "
        f"--data_dir {data_dir}"
    )


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
      check_shards: refuse a build whose shard files are not all there, or not of the
        size written. A build check, which reports every file itself, passes False.

    Warns:
      build_identity.PartialBuildWarning: it is a debug build (`max_examples_per_split`).

    Raises:
      FileNotFoundError: nothing of that name is built in `data_dir`.
      ValueError: it is built, but not in `file_format`.
      DamagedBuildError: shard files of the build are missing or of another size
        (`check_shards`).
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
    try:
        builder.info.metadata  # noqa: B018  (TFDS reads metadata.json when first asked)
    except ValueError as error:  # json.JSONDecodeError: cut short or damaged
        raise damaged_file_error(
            builder.data_path / "metadata.json", f"cannot be read ({error})"
        ) from error
    build_identity.warn_if_partial(builder)  # a debug build is never taken for the dataset
    if file_format is not None:
        check_file_format(builder, file_format, reader)
        if builder.info.file_format.value != file_format:  # built in several: read that one
            builder = _builder(f"{name}:{builder.info.version}", _root(builder), file_format)
    if check_shards:
        check_shard_files(builder)
    return builder


def _builder(
    name: str, data_dir: str | None, file_format: str | None = None
) -> tfds.core.DatasetBuilder:
    kwargs = {"file_format": file_format} if file_format else {}
    try:
        return tfds.builder(name, data_dir=data_dir, **kwargs)
    except AssertionError as error:  # TFDS: "cannot be loaded at version x, only: y"
        raise ValueError(f"{name}: {error}") from error
    except json_format.ParseError as error:  # TFDS cannot read a dataset_info.json
        raise _unreadable_dataset_info(name, data_dir, error) from error
    except ValueError as error:  # TFDS's DatasetNotFoundError, or an unknown config
        # Its first line says what; the rest lists every dataset TFDS knows, or its grammar.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise FileNotFoundError(
            f"{name}: not found in data_dir {data_dir or '(TFDS default)'} ({reason}). Build it "
            f"first:\n  {build_command(name, data_dir or '<data_dir>', file_format)}\n"
            "or pass the data_dir it was built in."
        ) from error


def _unreadable_dataset_info(
    name: str, data_dir: str | None, error: Exception
) -> DamagedBuildError:
    """The error about a dataset_info.json of `name`'s build that TFDS cannot parse."""
    problem = f"cannot be read ({error})"
    dataset, _, config = name.partition("/")
    config = config.split(":", 1)[0]
    if data_dir is not None and config:
        for path in sorted(epath.Path(data_dir).glob(f"{dataset}/{config}/*/dataset_info.json")):
            try:
                json.loads(path.read_text())
            except ValueError:  # not JSON (cut short): the file TFDS failed on
                return damaged_file_error(path, problem)
    return DamagedBuildError(
        f"{name}: damaged build in {data_dir or 'the TFDS data_dir'}: its dataset_info.json "
        f"{problem}. Delete its version folder and build it again."
    )


def _builder_inside(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder | None:
    """The build of `name` when `data_dir` is a folder inside it, not the data_dir; else None.

    Raises FileNotFoundError, saying what to pass, when `data_dir` is inside the build of
    another config.
    """
    if data_dir is None or "/" not in name:
        return None
    dataset, config = name.split("/", 1)
    config = config.split(":", 1)[0]
    inside = inside_build(data_dir, dataset, config)
    if inside is None:
        return None
    config_dir, version = inside
    root = config_dir.parent.parent
    if config_dir.name != config:
        raise FileNotFoundError(
            f"{name}: data_dir {data_dir} is inside the build of {dataset}/{config_dir.name}, "
            f"not of {name}. Pass the data_dir that holds {dataset}/: data_dir={os.fspath(root)}"
        )
    versioned = f"{dataset}/{config}:{version}" if version else f"{dataset}/{config}"
    return _builder(versioned, os.fspath(root))


def inside_build(
    data_dir: str | os.PathLike, dataset: str, config: str
) -> tuple[epath.Path, str | None] | None:
    """(config folder, version or None) when `data_dir` is a folder inside a build of
    `dataset`, not a data_dir: a version folder (`<root>/<dataset>/<config>/<version>`), a
    config folder, or the `<dataset>` folder (then `config`'s folder in it). Else None."""
    path = epath.Path(data_dir)
    if _is_version_dir(path, dataset) and path.parent.parent.name == dataset:
        return path.parent, path.name
    if path.parent.name == dataset and _is_config_dir(path, dataset):
        return path, None
    if (
        path.name == dataset
        and path.is_dir()
        and any(_is_config_dir(child, dataset) for child in path.iterdir())
    ):
        return path / config, None
    return None


def _is_version_dir(path: epath.Path, dataset: str) -> bool:
    """Whether `path` holds a build of `dataset` (its dataset_info.json names it): a data_dir
    named like the dataset may hold builds of others (`<data_dir>/mnist/3.0.1`)."""
    info = path / "dataset_info.json"
    try:
        return info.exists() and json.loads(info.read_text()).get("name") == dataset
    except (OSError, ValueError, AttributeError):  # unreadable: not known to be one
        return False


def _is_config_dir(path: epath.Path, dataset: str) -> bool:
    """Whether `path` holds a built version of `dataset` (`<version>/dataset_info.json`)."""
    return path.is_dir() and any(_is_version_dir(child, dataset) for child in path.iterdir())


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


def annotator_features_of(builder: tfds.core.DatasetBuilder) -> np.ndarray:
    """The `(16, 2) float32` annotator features of a built config, read from its metadata.

    Raises:
      FileNotFoundError: the config is not built in the builder's data_dir.
      ValueError: it was built by TFDS's own `imagenet_pi` builder, which records none.
    """
    features = builder.info.metadata.get("annotator_features") if builder.info.metadata else None
    if features is None and not builder.is_prepared():
        name, root = _config_name(builder), _root(builder)
        raise FileNotFoundError(
            f"{name} is not built in {root}: expected "
            f"{builder.data_path / 'dataset_info.json'}, found no such file. Build it first:\n"
            f"  {build_command(name, root)}\nor pass the data_dir it was built in."
        )
    if features is None:
        raise ValueError(
            f"{builder.info.full_name} at {builder.data_dir} has no annotator_features in its "
            "metadata: build it with this package (`tfds build imagenet_pi/<config> "
            "--imports imagenet_pi`)."
        )
    return np.asarray(features, np.float32)


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
