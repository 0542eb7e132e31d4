"""The predictions folder: what `imagenet-pi predict` writes and `imagenet-pi relabel` reads.

A predictions folder holds one split, written by `annotator_predictions` (or by hand) and
read by `relabelled_configs`::

    <split_dir>/file_names.txt            the N image file names, one a line, in row order
    <split_dir>/<Model>.npy               (N, 1000) float probabilities (or logits) of one
                                          model over the ILSVRC2012 classes (sorted synsets)
    <split_dir>/clean_labels.npy          (N,) int clean labels, to measure model accuracy
    <split_dir>/parameter_counts.json     {model name: parameter count}
    <split_dir>/prediction_settings.json  {model name: {weights, input_size, crop_fraction}},
                                          how `imagenet-pi predict` made each `.npy`

Every reader here checks what it reads and names the file (and line, model or row) in its
errors. Only numpy, the standard library and the checks of `temperature_sampling`. The JSON
reader and the atomic writes serve `relabel_metadata` too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from imagenet_pi import paths as paths_lib
from imagenet_pi import upstream
from imagenet_pi.relabelling import temperature_sampling
from imagenet_pi.relabelling.errors import InvalidPredictionsError, RelabelFileError

FILE_NAMES_FILE = "file_names.txt"
CLEAN_LABELS_FILE = "clean_labels.npy"
PARAMETER_COUNTS_FILE = "parameter_counts.json"
PREDICTION_SETTINGS_FILE = "prediction_settings.json"

_UTF8_BOM = b"\xef\xbb\xbf"


def write_atomically(path: pathlib.Path, write: Callable[[pathlib.Path], Any]) -> None:
    """Calls `write(temporary path)`, then renames: `path` is complete or absent."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    os.replace(temporary, path)


def predictions_path(split_dir: str | os.PathLike, model: str) -> pathlib.Path:
    """Where the predictions of one annotator model over one split live."""
    return pathlib.Path(split_dir) / f"{model}.npy"


def model_paths(split_dir: str | os.PathLike, models: Sequence[str]) -> list[pathlib.Path]:
    """The `<Model>.npy` of every model in `models`; raises naming the missing ones."""
    paths = [predictions_path(split_dir, model) for model in models]
    problems = {path.name: paths_lib.not_a_file(path) for path in paths}
    problems = {name: problem for name, problem in problems.items() if problem is not None}
    if problems:
        if all(problem == paths_lib.MISSING for problem in problems.values()):
            said = f"missing {list(problems)}"
        else:
            said = "; ".join(f"{name} {problem}" for name, problem in problems.items())
        raise FileNotFoundError(
            f"{split_dir}: expected one <Model>.npy of predictions per annotator model: {said}"
        )
    return paths


def read_file_names(split_dir: str | os.PathLike) -> np.ndarray:
    """The `(N,)` file names of `<split_dir>/file_names.txt`, one a line, N >= 1.

    Refuses, naming the line, a name that is not UTF-8, an empty line, a name with spaces
    around it or a comma in it (the CSVs cannot hold one), and a name given twice.
    """
    path = pathlib.Path(split_dir) / FILE_NAMES_FILE
    problem = paths_lib.not_a_file(path)
    if problem is not None:
        raise FileNotFoundError(
            f"{path}: expected the image file names of the predictions, one a line; it {problem}"
        )
    lines = path.read_bytes().removeprefix(_UTF8_BOM).split(b"\n")
    if lines[-1] == b"":  # the line break that ends the last name
        lines.pop()
    if not lines:
        raise RelabelFileError(
            f"{path}: expected the image file names of the predictions, one a line; the file "
            "is empty"
        )
    names = []
    first_line = {}
    for number, line in enumerate(lines, 1):
        name = _file_name_of_line(path, number, line.removesuffix(b"\r"))
        if name in first_line:
            raise RelabelFileError(
                f"{path}: file name {name!r} appears twice, on lines {first_line[name]} and "
                f"{number}; each line names the image of one row of every <Model>.npy. "
                "Predict the split again into a new folder, or remove the wrong line and its row"
            )
        first_line[name] = number
        names.append(name)
    return np.array(names, dtype=object)


def _file_name_of_line(path: pathlib.Path, number: int, line: bytes) -> str:
    where = f"{path}, line {number}"
    try:
        name = line.decode("utf-8")
    except UnicodeDecodeError:
        raise RelabelFileError(
            f"{where}: the file name {line!r} is not UTF-8; write {FILE_NAMES_FILE} as UTF-8 "
            "(ILSVRC2012 names are ASCII)"
        ) from None
    if not name.strip():
        raise RelabelFileError(
            f"{where}: expected an image file name, found an empty line; {FILE_NAMES_FILE} "
            "holds one name a line (the image of each row of every <Model>.npy): remove it"
        )
    if name != name.strip():
        raise RelabelFileError(
            f"{where}: the file name {name!r} has spaces around it; image file names have "
            "none: remove them"
        )
    if any(character in name for character in ",\0\r"):
        raise RelabelFileError(
            f"{where}: the file name {name!r} holds a comma, NUL or carriage return, which "
            "the ImageNet-PI CSVs cannot hold"
        )
    return name


def write_file_names(split_dir: str | os.PathLike, file_names: Sequence[str]) -> None:
    """Writes `<split_dir>/file_names.txt`, one name a line (names hold no line breaks)."""
    write_atomically(
        pathlib.Path(split_dir) / FILE_NAMES_FILE,
        lambda p: p.write_text("".join(f"{name}\n" for name in file_names), "utf-8"),
    )


@dataclasses.dataclass(frozen=True)
class SplitPredictions:
    """A checked predictions folder of one split: names, and one `.npy` per model."""

    split_dir: pathlib.Path
    file_names: np.ndarray  # (N,) str, the image of each row
    paths: list[pathlib.Path]  # one (N, 1000) float .npy per model, in the order asked


def open_split(split_dir: str | os.PathLike, models: Sequence[str]) -> SplitPredictions:
    """Checks the predictions folder of one split, reading only the `.npy` headers.

    Every `<Model>.npy` of `models` must be there, a 2-D float array of shape `(N, 1000)`
    (the 1000 ILSVRC2012 classes), N the lines of `file_names.txt`. Errors name the file.
    """
    split_dir = pathlib.Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"{split_dir}: expected the predictions folder of split {split_dir.name!r} "
            f"({FILE_NAMES_FILE} and one <Model>.npy per annotator model), not found; predict "
            "that split (imagenet-pi predict --split ...), or relabel only the splits you have "
            "(--splits)"
        )
    paths = model_paths(split_dir, models)
    file_names = read_file_names(split_dir)
    rows = {}
    for path in paths:
        values = _memory_map(os.fspath(path))
        check_class_count(os.fspath(path), values.shape)
        temperature_sampling.check_predictions_array(values, os.fspath(path))
        rows[path] = values.shape[0]
    num_names = len(file_names)
    if len(set(rows.values())) == 1 and num_names not in rows.values() and len(paths) > 1:
        raise RelabelFileError(
            f"{split_dir / FILE_NAMES_FILE}: holds {num_names} file names, but every "
            f"<Model>.npy holds {rows[paths[0]]} rows (one per image): the file must name the "
            "image of each row, one a line"
        )
    for path, count in rows.items():
        if count != num_names:
            raise InvalidPredictionsError(
                f"{path}: expected shape ({num_names}, {upstream.NUM_CLASSES}) (one row per "
                f"line of {FILE_NAMES_FILE}), found ({count}, {upstream.NUM_CLASSES})"
            )
    return SplitPredictions(split_dir, file_names, paths)


def check_class_count(name: str, shape: tuple[int, ...]) -> None:
    """Raises unless `shape` is `(N, 1000)`: predictions over the ILSVRC2012 classes."""
    if len(shape) == 2 and shape[1] == upstream.NUM_CLASSES:
        return
    if len(shape) == 2 and shape[1] == upstream.NUM_CLASSES + 1:
        hint = (
            "1001 columns are those of a model with a background class at column 0: drop "
            "that column (predictions[:, 1:]) and renormalise the rows"
        )
    else:
        hint = (
            "predict with `imagenet-pi predict` (the keras.applications ImageNet models), or "
            "map your model's classes onto the 1000 ILSVRC2012 classes"
        )
    raise InvalidPredictionsError(
        f"{name}: expected predictions over the {upstream.NUM_CLASSES} ILSVRC2012 classes, "
        f"shape (N, {upstream.NUM_CLASSES}) with columns in sorted-synset order, found shape "
        f"{tuple(shape)}; {hint}"
    )


def read_clean_labels(split_dir: str | os.PathLike, num_examples: int | None = None) -> np.ndarray:
    """The `(N,)` int clean labels of `<split_dir>/clean_labels.npy`, class indices 0..999.

    With `num_examples`, N must be that (the lines of `file_names.txt`).
    """
    path = pathlib.Path(split_dir) / CLEAN_LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected the clean labels to measure annotator accuracy, "
            "not found; pass annotator features explicitly (e.g. the upstream "
            "annotator_features.csv) or predict a split that has labels"
        )
    try:
        labels = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # EOFError: an empty file
        raise RelabelFileError(
            f"{path}: expected a .npy file of the clean labels written by numpy.save, could not "
            f"read it: {error}"
        ) from error
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        found = (
            "an .npz archive"
            if not isinstance(labels, np.ndarray)
            else f"shape {labels.shape}, dtype {labels.dtype}"
        )
        raise RelabelFileError(
            f"{path}: expected (N,) integer class indices in 0..{upstream.NUM_CLASSES - 1}, one "
            f"per file name, found {found}"
        )
    if num_examples is not None and len(labels) != num_examples:
        raise RelabelFileError(
            f"{path}: expected {num_examples} clean labels (one per line of {FILE_NAMES_FILE}), "
            f"found {len(labels)}; write the clean label of every image, in the order of "
            f"{FILE_NAMES_FILE}"
        )
    bad = (labels < 0) | (labels >= upstream.NUM_CLASSES)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise RelabelFileError(
            f"{path}: row {row}: expected a class index in 0..{upstream.NUM_CLASSES - 1}, "
            f"found {labels[row]}"
        )
    return labels


def read_json_object(path: pathlib.Path, expected: str, fix: str) -> dict:
    """The JSON object in `path`; errors name the file, what was expected and `fix`."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RelabelFileError(
            f"{path}: expected {expected} in UTF-8, found the byte "
            f"0x{data[error.start]:02x} at position {error.start}, which is not UTF-8; {fix}"
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RelabelFileError(
            f"{path}: line {error.lineno}: expected {expected}, found invalid JSON "
            f"({error.msg}); {fix}"
        ) from error
    if not isinstance(value, dict):
        raise RelabelFileError(
            f"{path}: expected {expected}, a JSON object, found a JSON "
            f"{type(value).__name__}; {fix}"
        )
    return value


def read_parameter_counts(split_dir: str | os.PathLike, models: Sequence[str]) -> np.ndarray:
    """`(A,) float64` parameter counts of `models` from `<split_dir>/parameter_counts.json`."""
    path = pathlib.Path(split_dir) / PARAMETER_COUNTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected {{model name: parameter count}} (written by "
            "imagenet_pi.annotator_models), not found; pass annotator features explicitly"
        )
    fix = "write it again, or pass annotator features explicitly (--annotator-features)"
    counts = read_json_object(path, "{model name: parameter count}", fix)
    missing = [model for model in models if model not in counts]
    if missing:
        raise RelabelFileError(f"{path}: expected parameter counts of {missing}, not found")
    for model in models:
        count = counts[model]
        number = isinstance(count, numbers.Real) and not isinstance(count, bool)
        if not (number and math.isfinite(count) and count > 0):
            raise RelabelFileError(
                f"{path}: {model}: expected a parameter count, a number > 0, found {count!r}; {fix}"
            )
    return np.array([counts[model] for model in models], np.float64)


def record_parameter_count(split_dir: str | os.PathLike, model: str, count: int) -> None:
    """Adds `model: count` to `<split_dir>/parameter_counts.json`."""
    path = pathlib.Path(split_dir) / PARAMETER_COUNTS_FILE
    counts = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    counts[model] = count
    write_atomically(path, lambda p: p.write_text(json.dumps(counts, indent=1), "utf-8"))


def read_prediction_settings(split_dir: str | os.PathLike) -> dict[str, dict]:
    """{model: the settings its `.npy` was predicted with} of a predictions folder; {} if none."""
    path = pathlib.Path(split_dir) / PREDICTION_SETTINGS_FILE
    if not path.is_file():
        return {}
    fix = "predict into a new folder"
    settings = read_json_object(path, "{model name: {weights, input_size, crop_fraction}}", fix)
    for model, recorded in settings.items():
        if not isinstance(recorded, dict):
            raise RelabelFileError(
                f"{path}: {model}: expected the settings object that `imagenet-pi predict` "
                f"writes, found {recorded!r}; {fix}"
            )
    return settings


def record_prediction_settings(
    split_dir: str | os.PathLike, model: str, settings: Mapping[str, Any]
) -> None:
    """Records in `<split_dir>/prediction_settings.json` how `<model>.npy` was predicted."""
    path = pathlib.Path(split_dir) / PREDICTION_SETTINGS_FILE
    recorded = read_prediction_settings(split_dir)
    recorded[model] = dict(settings)
    write_atomically(path, lambda p: p.write_text(json.dumps(recorded, indent=1), "utf-8"))


def open_predictions(source: str | os.PathLike | np.ndarray, index: int) -> tuple[str, np.ndarray]:
    """`(name, (N, C) float array)` of one annotator; files are memory-mapped, not read.

    `index` names an in-memory array in messages (`predictions[index]`).
    """
    if isinstance(source, np.ndarray):
        name = f"predictions[{index}]"
        values = source
    else:
        name = os.fspath(source)
        values = _memory_map(name)
    temperature_sampling.check_predictions_array(values, name)
    return name, values


_NPY_MAGIC = b"\x93NUMPY"
_NPZ_MAGIC = b"PK\x03\x04"  # a zip archive: said below


def _memory_map(name: str) -> np.ndarray:
    """The array of a `.npy` file, memory-mapped; raises naming the file if it is not one."""
    expected = (
        f"{name}: expected a .npy file of shape (num_examples, num_classes) written by numpy.save"
    )
    with open(name, "rb") as file:  # FileNotFoundError, IsADirectoryError: as they are
        start = file.read(len(_NPY_MAGIC) + 16)
    if not start:
        raise InvalidPredictionsError(f"{expected}; it is empty (a write that did not finish?)")
    if not start.startswith(_NPY_MAGIC) and not start.startswith(_NPZ_MAGIC):
        # numpy would try it as a pickle, and say so: not the user's problem.
        raise InvalidPredictionsError(
            f"{expected} (it starts with {_NPY_MAGIC!r}); it starts with {start!r}"
        )
    try:
        values = np.load(name, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # EOFError: a header cut short
        if isinstance(error, FileNotFoundError):
            raise
        raise InvalidPredictionsError(
            f"{expected}, could not read it: {error or type(error).__name__}"
        ) from error
    if not isinstance(values, np.ndarray):
        raise InvalidPredictionsError(f"{name}: expected a .npy array, found an .npz archive")
    return values
