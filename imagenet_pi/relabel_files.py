"""The files of relabelling besides the CSVs: the predictions folder and `relabel.json`.

A predictions folder holds one split, written by `imagenet_pi.annotator_models` (or by hand)
and read by `imagenet_pi.relabelled_configs`:

    <split_dir>/file_names.txt         the N image file names, one a line, in row order
    <split_dir>/<Model>.npy            (N, C) float probabilities (or logits) of one model
    <split_dir>/clean_labels.npy       (N,) int clean labels, to measure model accuracy
    <split_dir>/parameter_counts.json  {model name: parameter count}

A config folder written by `imagenet-pi relabel` holds, beside the upstream CSVs,
`relabel.json`: beta, seed, models (column order), splits, from_logits, predictions_dir.

Only numpy, the standard library and the sampling maths: readers of one metadata field (`stats`,
`custom_configs`) import this, not the relabelling code.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from imagenet_pi import relabel

FILE_NAMES_FILE = "file_names.txt"
CLEAN_LABELS_FILE = "clean_labels.npy"
PARAMETER_COUNTS_FILE = "parameter_counts.json"
METADATA_FILE = "relabel.json"


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
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{split_dir}: expected one <Model>.npy of predictions per annotator model, "
            f"missing {missing}"
        )
    return paths


def read_file_names(split_dir: str | os.PathLike) -> np.ndarray:
    """The `(N,)` file names of `<split_dir>/file_names.txt`, one a line."""
    path = pathlib.Path(split_dir) / FILE_NAMES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected the image file names of the predictions, one a line; not found"
        )
    names = path.read_text(encoding="utf-8").splitlines()
    return np.array(names, dtype=object)


def write_file_names(split_dir: str | os.PathLike, file_names: Sequence[str]) -> None:
    """Writes `<split_dir>/file_names.txt`, one name a line (names hold no line breaks)."""
    write_atomically(
        pathlib.Path(split_dir) / FILE_NAMES_FILE,
        lambda p: p.write_text("".join(f"{name}\n" for name in file_names), "utf-8"),
    )


def read_clean_labels(split_dir: str | os.PathLike) -> np.ndarray:
    """The `(N,)` int clean labels of `<split_dir>/clean_labels.npy`."""
    path = pathlib.Path(split_dir) / CLEAN_LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected the clean labels to measure annotator accuracy, "
            "not found; pass annotator features explicitly (e.g. the upstream "
            "annotator_features.csv) or predict a split that has labels"
        )
    return np.load(path, allow_pickle=False)


def read_parameter_counts(split_dir: str | os.PathLike, models: Sequence[str]) -> np.ndarray:
    """`(A,) float64` parameter counts of `models` from `<split_dir>/parameter_counts.json`."""
    path = pathlib.Path(split_dir) / PARAMETER_COUNTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected {{model name: parameter count}} (written by "
            "imagenet_pi.annotator_models), not found; pass annotator features explicitly"
        )
    counts = json.loads(path.read_text(encoding="utf-8"))
    missing = [model for model in models if model not in counts]
    if missing:
        raise ValueError(f"{path}: expected parameter counts of {missing}, not found")
    return np.array([counts[model] for model in models], np.float64)


def record_parameter_count(split_dir: str | os.PathLike, model: str, count: int) -> None:
    """Adds `model: count` to `<split_dir>/parameter_counts.json`."""
    path = pathlib.Path(split_dir) / PARAMETER_COUNTS_FILE
    counts = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    counts[model] = count
    write_atomically(path, lambda p: p.write_text(json.dumps(counts, indent=1), "utf-8"))


def read_metadata(config_dir: str | os.PathLike) -> dict | None:
    """The `relabel.json` that `relabel_config` wrote in a config folder; None if absent."""
    path = pathlib.Path(config_dir) / METADATA_FILE
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: line {error.lineno}: expected the JSON that `imagenet-pi relabel` writes, "
            f"found invalid JSON ({error.msg}); fix or delete the file"
        ) from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(metadata).__name__}")
    return metadata


def write_metadata(config_dir: str | os.PathLike, metadata: Mapping[str, Any]) -> None:
    """Writes `<config_dir>/relabel.json`."""
    (pathlib.Path(config_dir) / METADATA_FILE).write_text(json.dumps(metadata, indent=1), "utf-8")


def open_predictions(source: str | os.PathLike | np.ndarray, index: int) -> tuple[str, np.ndarray]:
    """`(name, (N, C) float array)` of one annotator; files are memory-mapped, not read.

    `index` names an in-memory array in messages (`predictions[index]`).
    """
    if isinstance(source, np.ndarray):
        name = f"predictions[{index}]"
        values = source
    else:
        name = os.fspath(source)
        try:
            values = np.load(name, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise relabel.InvalidPredictionsError(
                f"{name}: expected a .npy file of shape (num_examples, num_classes) written by "
                f"numpy.save, could not read it: {error}"
            ) from error
        if not isinstance(values, np.ndarray):
            raise relabel.InvalidPredictionsError(
                f"{name}: expected a .npy array, found an .npz archive"
            )
    relabel.check_predictions_array(values, name)
    return name, values
