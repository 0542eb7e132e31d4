"""Opening a dataset this package built: found, complete, and stored as its reader needs.

The one way every reader (the JAX input pipeline, the PyTorch dataset, `stats`,
`predict`) opens a built config, released or custom: a custom config is not in the
code, so TFDS finds it from the files of its build.
"""

from __future__ import annotations

import os

import tensorflow_datasets as tfds

from imagenet_pi import build_identity


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
) -> tfds.core.DatasetBuilder:
    """The builder of `name` (e.g. "imagenet_pi/high_noise") as built in `data_dir`.

    Args:
      name: "imagenet_pi/<config>", a released or a custom config.
      data_dir: where it was built; None for TFDS's default data_dirs.
      file_format: "tfrecord" or "array_record" if the reader needs one; the builder
        then reads that format.
      reader: who reads it, for the messages (e.g. "the PyTorch dataset").

    Warns:
      build_identity.PartialBuildWarning: it is a debug build (`max_examples_per_split`).

    Raises:
      FileNotFoundError: nothing of that name is built in `data_dir`.
      ValueError: it is built, but not in `file_format`.
    """
    shown_dir = os.fspath(data_dir) if data_dir is not None else None
    try:
        builder = tfds.builder(name, data_dir=shown_dir)
    except ValueError as error:  # TFDS's DatasetNotFoundError, or an unknown config
        raise FileNotFoundError(
            f"{name}: not found in data_dir {shown_dir or '(TFDS default)'} ({error}). Build it "
            f"first:\n  {build_command(name, shown_dir or '<data_dir>', file_format)}\n"
            "or pass the data_dir it was built in."
        ) from error
    if not builder.is_prepared():
        version_dir = builder.data_path
        root = os.fspath(version_dir.parents[2])  # <root>/imagenet_pi/<config>/<version>
        raise FileNotFoundError(
            f"{name} is not built in {root}: expected {version_dir / 'dataset_info.json'}, "
            f"found no such file. Build it first for {reader}:\n"
            f"  {build_command(name, root, file_format)}\nor pass the data_dir it was built in."
        )
    build_identity.warn_if_partial(builder)  # a debug build is never taken for the dataset
    if file_format is None:
        return builder
    check_file_format(builder, file_format, reader)
    if builder.info.file_format.value != file_format:  # built in several: read that one
        builder = tfds.builder(name, data_dir=shown_dir, file_format=file_format)
    return builder


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
        f"  {build_command(builder.info.full_name.rsplit('/', 1)[0], '<data_dir>', file_format)}"
    )
