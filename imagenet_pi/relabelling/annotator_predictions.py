"""Predictive distributions of the `tf.keras.applications` annotator models over a split.

The first step of relabelling: each of the 16 upstream annotator models classifies every
image of a split, with its own input size and `preprocess_input`. Results go to a predictions
folder (its format is `predictions_folder`) that `imagenet-pi relabel` reads:

    <out_dir>/file_names.txt            the N image file names, one a line, in row order
    <out_dir>/<Model>.npy               (N, 1000) float32 probabilities of one model
    <out_dir>/clean_labels.npy          (N,) int16 clean labels, when the images come with them
    <out_dir>/parameter_counts.json     {model name: parameter count}
    <out_dir>/prediction_settings.json  {model name: weights, input size, crop fraction}

Resumable: a model whose `.npy` is already there is skipped (files are written under a
temporary name and renamed when complete). One folder holds one set of settings: resuming,
or adding models, with another input size, crop fraction or kind of weights is refused
(each model may have its own weights file).

Everything that can be checked is checked before the first model runs: the models, the
input size each takes (`annotator_model_specs`), the settings of earlier predictions in the
folder, and Keras' ImageNet weights, which are all downloaded first (`keras_models`).
Nothing is created until then. Images become model inputs in `model_inputs`.

Its public path is `imagenet_pi.annotator_models`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pathlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tqdm

from imagenet_pi import fake_data, upstream
from imagenet_pi.relabelling import (
    annotator_model_specs,
    keras_models,
    model_inputs,
    predictions_folder,
)
from imagenet_pi.relabelling.annotator_model_specs import MODEL_SPECS
from imagenet_pi.relabelling.errors import PredictionsError
from imagenet_pi.relabelling.model_inputs import DEFAULT_CROP_FRACTION

DEFAULT_BATCH_SIZE = 32


def _num_examples(images: Iterable, num_examples: int | None) -> int:
    if num_examples is not None:
        return num_examples
    try:
        if isinstance(images, tf.data.Dataset):
            cardinality = int(images.cardinality())
            if cardinality >= 0:
                return cardinality
        else:
            return len(images)  # type: ignore[arg-type]
    except TypeError:
        pass
    raise PredictionsError(
        "images: the number of images is unknown (an iterator, or a tf.data pipeline after "
        "filter/repeat); pass num_examples"
    )


def _save_npy(path: pathlib.Path, array: np.ndarray) -> None:
    with path.open("wb") as f:  # a file object: np.save would append .npy to the name
        np.save(f, array)


def _existing_file_names(out_dir: pathlib.Path, total: int) -> list[str] | None:
    """The file names of earlier predictions in `out_dir`, if any; they must be `total`."""
    if not (out_dir / predictions_folder.FILE_NAMES_FILE).is_file():
        return None
    names = predictions_folder.read_file_names(out_dir).tolist()
    if len(names) != total:
        raise PredictionsError(
            f"{out_dir / predictions_folder.FILE_NAMES_FILE}: holds {len(names)} file names of "
            f"earlier predictions, but there are {total} images now; use a new folder"
        )
    return names


def _write_file_names(out_dir: pathlib.Path, file_names: list[str]) -> None:
    for name in file_names:
        if "\n" in name or "\r" in name:
            raise PredictionsError(f"images: file names cannot hold line breaks: {name!r}")
    predictions_folder.write_file_names(out_dir, file_names)


def _is_complete(path: pathlib.Path, num_examples: int) -> bool:
    if not path.is_file():
        return False
    try:
        existing = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):  # not a whole .npy: predicted again
        return False
    return existing.ndim == 2 and existing.shape[0] == num_examples


def _weights_setting(weights: str | None) -> dict[str, str]:
    """How the weights are recorded in `prediction_settings.json`; checks a weights file."""
    if weights == "imagenet":
        return {"weights": "imagenet"}
    if weights is None:
        return {"weights": "none"}
    path = pathlib.Path(weights)
    if not path.is_file():
        raise PredictionsError(
            f"weights: expected 'imagenet', None (random weights) or a weights file, found "
            f"{os.fspath(weights)!r}, which is not a file"
        )
    with path.open("rb") as f:
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    return {"weights": "file", "weights_file": str(path.resolve()), "weights_sha256": sha256}


def _describe(settings: dict[str, Any]) -> str:
    if settings.get("weights") == "file":
        weights = (
            f"the weights file {settings.get('weights_file')} "
            f"(sha256 {str(settings.get('weights_sha256'))[:12]}...)"
        )
    else:
        weights = f"weights {settings.get('weights')}"
    return (
        f"{weights}, input size {settings.get('input_size')}, crop fraction "
        f"{settings.get('crop_fraction')}"
    )


# What every model of a folder shares; the weights file itself may differ between models.
_FOLDER_SETTINGS = ("weights", "input_size", "crop_fraction")


def _check_folder_settings(
    out_dir: pathlib.Path, total: int, models: Sequence[str], settings: dict[str, dict]
) -> None:
    """Refuses to add predictions made with other settings to a folder's earlier ones.

    `settings` holds, for every model, the settings this run would give it.
    """
    recorded = predictions_folder.read_prediction_settings(out_dir)
    for name in MODEL_SPECS:
        if not _is_complete(predictions_folder.predictions_path(out_dir, name), total):
            continue
        wanted = settings[name]
        if name not in recorded:
            raise PredictionsError(
                f"{out_dir}: {name}.npy has no recorded settings in "
                f"{predictions_folder.PREDICTION_SETTINGS_FILE} (written by hand, or by an older "
                f"imagenet_pi), so it cannot be told whether it was predicted with "
                f"{_describe(wanted)}; predict into a new folder (--out), or delete "
                f"{name}.npy to predict it again"
            )
        keys = _FOLDER_SETTINGS + (("weights_sha256",) if name in models else ())
        if any(recorded[name].get(key) != wanted.get(key) for key in keys):
            raise PredictionsError(
                f"{out_dir}: {name}.npy was predicted with {_describe(recorded[name])}, but "
                f"this run asks for {_describe(wanted)}; a predictions folder holds "
                "predictions made with one set of settings, or relabelling would mix them. "
                "Predict into a new folder (--out), or resume with the recorded settings"
            )


def _make_folder(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Creates `out_dir` and its missing parents; returns those it created, deepest last."""
    created = []
    for folder in (out_dir, *out_dir.parents):
        if folder.exists():
            break
        created.append(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    return created[::-1]


def predict_split(
    images: Iterable,
    out_dir: str | os.PathLike,
    models: Sequence[str] = upstream.ANNOTATOR_MODELS,
    *,
    weights: str | None = "imagenet",
    input_size: int | None = None,
    crop_fraction: float = DEFAULT_CROP_FRACTION,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_examples: int | None = None,
    progress: bool = False,
) -> dict[str, pathlib.Path]:
    """Writes every model's predictive distribution over the images to `out_dir`.

    The images are iterated once per model, and must come in the same order every time.
    Everything is checked, and the ImageNet weights fetched, before the first model runs
    and before `out_dir` is created.

    Args:
      images: a `tf.data.Dataset` (e.g. `tfds.load("imagenet_pi/high_noise", split=...)` or
        `imagenet2012`) or any iterable; elements are dicts with `image` (encoded bytes or
        `(h, w, 3)` uint8), `file_name` and optionally `clean_label` or `label`, or tuples
        `(image, file_name[, label])`.
      out_dir: the predictions folder of this split (created).
      models: names in `MODEL_SPECS`; default the 16 upstream ones.
      weights: "imagenet" (Keras' ImageNet weights, downloaded into Keras' cache), None
        (random weights, for tests) or a weights file.
      input_size: one input side for every model; default each model's own. Each model
        must take it (`annotator_model_specs.check_input_size`).
      crop_fraction: central crop, as a fraction of the shorter image side.
      batch_size: images per model call.
      num_examples: the number of images, when `len(images)` / the dataset cardinality is
        unknown.
      progress: show a tqdm progress bar per model.

    Returns:
      model name -> path of its `(N, 1000) float32` `.npy`.

    Raises:
      PredictionsError: the arguments, the images or the folder's earlier predictions (made
        with other settings, or of other images) do not fit.
      WeightsDownloadError: Keras' ImageNet weights of a model could not be downloaded.
    """
    out_dir = pathlib.Path(out_dir)
    models = list(dict.fromkeys(models))
    try:
        annotator_model_specs.check_models(models)
        if input_size is not None:
            fake_data.check_int("input_size", input_size, 1)
        annotator_model_specs.check_input_size(models, input_size, weights == "imagenet")
        fake_data.check_int("batch_size", batch_size, 1)
    except ValueError as error:
        raise PredictionsError(str(error)) from None
    if not 0 < crop_fraction <= 1:
        raise PredictionsError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    weights_setting = _weights_setting(weights)
    total = _num_examples(images, num_examples)
    expected_names = _existing_file_names(out_dir, total)
    settings = {
        name: {
            **weights_setting,
            "input_size": input_size or spec.input_size,
            "crop_fraction": float(crop_fraction),
        }
        for name, spec in MODEL_SPECS.items()
    }
    _check_folder_settings(out_dir, total, models, settings)
    paths = {name: predictions_folder.predictions_path(out_dir, name) for name in models}
    to_predict = [name for name in models if not _is_complete(paths[name], total)]
    if weights == "imagenet":
        keras_models.fetch_imagenet_weights(to_predict, input_size)
    if not to_predict:
        return paths
    created = _make_folder(out_dir)
    try:
        for name in to_predict:
            expected_names = _predict_model(
                images,
                out_dir,
                name,
                weights,
                settings[name],
                batch_size,
                total,
                expected_names,
                progress,
            )
    except BaseException:
        for folder in reversed(created):  # folders this call made, if they stayed empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return paths


def _predict_model(
    images: Iterable,
    out_dir: pathlib.Path,
    name: str,
    weights: str | None,
    settings: dict[str, Any],
    batch_size: int,
    total: int,
    expected_names: list[str] | None,
    progress: bool,
) -> list[str]:
    """Writes `<name>.npy` (and, the first time, the file names); returns the file names."""
    path = predictions_folder.predictions_path(out_dir, name)
    size = settings["input_size"]
    model, preprocess_input = keras_models.build_model(name, weights, size)
    temporary = path.with_name(path.name + ".tmp")
    probabilities = np.lib.format.open_memmap(
        temporary, mode="w+", dtype=np.float32, shape=(total, model.output_shape[-1])
    )
    batches = model_inputs.batches(images, size, settings["crop_fraction"], batch_size)
    try:
        with tqdm.tqdm(total=total, unit="image", desc=name, disable=not progress) as bar:
            file_names, labels = _predict_into(
                probabilities, model, preprocess_input, batches, expected_names, bar
            )
        probabilities.flush()
    except BaseException:
        del probabilities
        temporary.unlink()
        raise
    del probabilities
    if expected_names is None:
        _write_file_names(out_dir, file_names)
        expected_names = file_names
    clean_labels_path = out_dir / predictions_folder.CLEAN_LABELS_FILE
    if np.all(labels >= 0) and not clean_labels_path.is_file():
        predictions_folder.write_atomically(
            clean_labels_path, functools.partial(_save_npy, array=labels.astype(np.int16))
        )
    # Recorded before the rename: a complete .npy always has its settings.
    predictions_folder.record_prediction_settings(out_dir, name, settings)
    os.replace(temporary, path)
    predictions_folder.record_parameter_count(out_dir, name, int(model.count_params()))
    keras.backend.clear_session()  # frees the model's graph before the next one
    return expected_names


def _predict_into(
    probabilities: np.ndarray,
    model: keras.Model,
    preprocess_input: Callable[[np.ndarray], Any],
    batches: Iterator[tuple[np.ndarray, list[str], np.ndarray]],
    expected_names: list[str] | None,
    bar: tqdm.tqdm,
) -> tuple[list[str], np.ndarray]:
    """Fills `(N, C)` `probabilities` batch by batch; returns the N file names and labels.

    With `expected_names` (from earlier models), stops at the first image out of that order.
    """
    total = len(probabilities)
    file_names, labels = [], []
    batch_size = None
    for batch, batch_names, batch_labels in batches:
        start, stop = len(file_names), len(file_names) + len(batch)
        if stop > total:
            raise PredictionsError(f"images: expected {total} images, found more")
        if expected_names is not None and expected_names[start:stop] != batch_names:
            row = start + next(
                i for i, (a, b) in enumerate(zip(expected_names[start:stop], batch_names)) if a != b
            )
            raise PredictionsError(
                f"images: image {row} is {batch_names[row - start]!r}, but earlier predictions "
                f"in this folder have {expected_names[row]!r} there; iterate the images in "
                "the same order every time (tfds: shuffle_files=False) or use a new folder"
            )
        batch_size = batch_size or len(batch)
        # A full-size batch keeps Keras from tracing the model again for the last one.
        padded = np.zeros((batch_size, *batch.shape[1:]), np.float32)
        padded[: len(batch)] = batch
        outputs = model.predict_on_batch(preprocess_input(padded))
        probabilities[start:stop] = np.asarray(outputs)[: len(batch)]
        file_names.extend(batch_names)
        labels.append(batch_labels)
        bar.update(len(batch))
    if len(file_names) != total:
        raise PredictionsError(f"images: expected {total} images, found {len(file_names)}")
    return file_names, np.concatenate(labels)
