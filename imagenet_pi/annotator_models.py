"""Predictive distributions of the `tf.keras.applications` annotator models over a split.

The first step of relabelling: each of the 16 upstream annotator models classifies every
image of a split, with its own input size and `preprocess_input`. Results go to a predictions
folder (its format is `imagenet_pi.relabel_files`) that `imagenet-pi relabel` reads:

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
folder, and Keras' ImageNet weights, which are all downloaded first. Nothing is created
until then.

Upstream does not say how it resized images; here each image is centre-cropped to
`crop_fraction` of its shorter side (0.875, the usual 224-of-256 evaluation crop) and resized
to the model's input size, antialiased.
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

from imagenet_pi import annotator_model_specs, errors, fake_data, relabel_files, upstream
from imagenet_pi.annotator_model_specs import MODEL_SPECS, AnnotatorModel  # noqa: F401
from imagenet_pi.file_names import as_str

DEFAULT_BATCH_SIZE = 32
DEFAULT_CROP_FRACTION = 0.875
_NO_LABEL = -1


class PredictionsError(errors.ImagenetPiError, ValueError):
    """The images or an existing predictions folder cannot be used as asked."""


class WeightsDownloadError(PredictionsError):
    """Keras' ImageNet weights of a model are not in its cache and could not be downloaded."""


def prepare_image(image: Any, input_size: int, crop_fraction: float = DEFAULT_CROP_FRACTION):
    """One image as a model input: decoded, centre-cropped, resized.

    Args:
      image: encoded bytes (JPEG, PNG, ...) or a `(height, width, 1 or 3)` uint8 array/tensor.
      input_size: side of the output.
      crop_fraction: side of the central square crop, as a fraction of the shorter side.

    Returns:
      `(input_size, input_size, 3)` float32 tf.Tensor, RGB values in [0, 255].
    """
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.string:
        image = tf.io.decode_image(image, channels=3, expand_animations=False)
    elif image.shape.rank == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.cast(tf.cast(tf.minimum(height, width), tf.float32) * crop_fraction, tf.int32)
    side = tf.maximum(side, 1)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top : top + side, left : left + side]
    return tf.image.resize(image, (input_size, input_size), method="bilinear", antialias=True)


def _unpack(element: Any) -> tuple[Any, Any, Any]:
    """(image, file name, clean label or None) of a dict or (image, file_name[, label])."""
    if isinstance(element, dict):
        if "image" not in element or "file_name" not in element:
            raise PredictionsError(
                f"images: expected elements with 'image' and 'file_name', found keys "
                f"{sorted(element)}"
            )
        label = element.get("clean_label", element.get("label"))
        return element["image"], element["file_name"], label
    if isinstance(element, tuple | list) and len(element) in (2, 3):
        return element[0], element[1], element[2] if len(element) == 3 else None
    raise PredictionsError(
        "images: expected dicts with 'image', 'file_name' (and 'clean_label' or 'label'), or "
        f"tuples (image, file_name[, label]); found {type(element).__name__}"
    )


def _batches(
    images: Iterable, input_size: int, crop_fraction: float, batch_size: int
) -> Iterator[tuple[np.ndarray, list[str], np.ndarray]]:
    """Batches `(b, size, size, 3) float32` images, `b` file names, `(b,)` labels (-1: none)."""
    if isinstance(images, tf.data.Dataset):

        def prepare(*element):
            image, file_name, label = _unpack(element[0] if len(element) == 1 else element)
            label = tf.constant(_NO_LABEL, tf.int64) if label is None else tf.cast(label, tf.int64)
            return prepare_image(image, input_size, crop_fraction), file_name, label

        dataset = images.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        for batch, names, labels in dataset.batch(batch_size).prefetch(2).as_numpy_iterator():
            yield batch, [as_str(name) for name in names], labels
        return
    batch, names, labels = [], [], []
    for element in images:
        image, file_name, label = _unpack(element)
        batch.append(prepare_image(image, input_size, crop_fraction).numpy())
        names.append(as_str(file_name))
        labels.append(_NO_LABEL if label is None else int(np.asarray(label)))
        if len(batch) == batch_size:
            yield np.stack(batch), names, np.array(labels, np.int64)
            batch, names, labels = [], [], []
    if batch:
        yield np.stack(batch), names, np.array(labels, np.int64)


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


def build_model(name: str, weights: str | None = "imagenet", input_size: int | None = None):
    """A `keras.applications` annotator model with a softmax top, and its preprocess_input.

    Args:
      name: one of `MODEL_SPECS`.
      weights: "imagenet" (downloaded by Keras on first use), None (random), or a file path.
      input_size: input side; default the size its ImageNet weights expect.

    Returns:
      (keras.Model mapping `(b, size, size, 3)` to `(b, 1000)` probabilities, preprocess_input).
    """
    annotator_model_specs.check_models([name])
    spec = MODEL_SPECS[name]
    size = input_size or spec.input_size
    model = getattr(keras.applications, spec.name)(
        weights=weights, input_shape=(size, size, 3), classifier_activation="softmax"
    )
    return model, getattr(keras.applications, spec.module).preprocess_input


def _save_npy(path: pathlib.Path, array: np.ndarray) -> None:
    with path.open("wb") as f:  # a file object: np.save would append .npy to the name
        np.save(f, array)


def _existing_file_names(out_dir: pathlib.Path, total: int) -> list[str] | None:
    """The file names of earlier predictions in `out_dir`, if any; they must be `total`."""
    if not (out_dir / relabel_files.FILE_NAMES_FILE).is_file():
        return None
    names = relabel_files.read_file_names(out_dir).tolist()
    if len(names) != total:
        raise PredictionsError(
            f"{out_dir / relabel_files.FILE_NAMES_FILE}: holds {len(names)} file names of earlier "
            f"predictions, but there are {total} images now; use a new folder"
        )
    return names


def _write_file_names(out_dir: pathlib.Path, file_names: list[str]) -> None:
    for name in file_names:
        if "\n" in name or "\r" in name:
            raise PredictionsError(f"images: file names cannot hold line breaks: {name!r}")
    relabel_files.write_file_names(out_dir, file_names)


def _is_complete(path: pathlib.Path, num_examples: int) -> bool:
    if not path.is_file():
        return False
    try:
        existing = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):  # not a whole .npy: predicted again
        return False
    return existing.ndim == 2 and existing.shape[0] == num_examples


def fetch_imagenet_weights(models: Sequence[str], input_size: int | None = None) -> None:
    """Puts Keras' ImageNet weights of every model in Keras' cache, downloading what is missing.

    Keras would download each model's weights when it builds the model; fetching them all
    first makes a missing network fail before the first prediction, with one message.

    Raises:
      WeightsDownloadError: a download failed; it names the file, its URL, where Keras looks
        for it, and the files of the other models that are missing too.
    """
    cache = annotator_model_specs.keras_cache_dir()
    needed = [(name, *MODEL_SPECS[name].imagenet_weights(input_size)) for name in models]
    missing = [(name, file, url) for name, file, url in needed if not (cache / file).is_file()]
    made_by_keras = [folder for folder in (cache.parent, cache) if not folder.exists()]
    for index, (name, file_name, url) in enumerate(missing):
        try:
            # Into the folder looked in above, which Keras' models look in too.
            keras.utils.get_file(
                file_name, url, cache_dir=os.fspath(cache.parent), cache_subdir=cache.name
            )
        except Exception as error:  # Keras raises a bare Exception for a failed download
            for folder in reversed(made_by_keras):
                with contextlib.suppress(OSError):  # only if empty: nothing else is touched
                    folder.rmdir()
            others = [f"{file} ({model})" for model, file, _ in missing[index + 1 :]]
            also = (
                f"; the other models need {', '.join(others)} there too (from "
                f"{annotator_model_specs.KERAS_WEIGHTS_URL}...)"
                if others
                else ""
            )
            reason = str(error).replace(f" on {url}", "")  # Keras' message repeats the URL
            raise WeightsDownloadError(
                f"could not download the ImageNet weights of {name}, {url} ({reason}). "
                f"Without network, copy the file there by hand: {cache / file_name} (Keras' "
                f"cache; $KERAS_HOME/models if KERAS_HOME is set){also}. Or pass a weights "
                "file of the model (weights=FILE, --weights FILE), or random weights "
                "(weights=None, --weights none) to try the tool. Nothing was written."
            ) from error


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
    recorded = relabel_files.read_prediction_settings(out_dir)
    for name in MODEL_SPECS:
        if not _is_complete(relabel_files.predictions_path(out_dir, name), total):
            continue
        wanted = settings[name]
        if name not in recorded:
            raise PredictionsError(
                f"{out_dir}: {name}.npy has no recorded settings in "
                f"{relabel_files.PREDICTION_SETTINGS_FILE} (written by hand, or by an older "
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
    paths = {name: relabel_files.predictions_path(out_dir, name) for name in models}
    to_predict = [name for name in models if not _is_complete(paths[name], total)]
    if weights == "imagenet":
        fetch_imagenet_weights(to_predict, input_size)
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
    path = relabel_files.predictions_path(out_dir, name)
    size = settings["input_size"]
    model, preprocess_input = build_model(name, weights, size)
    temporary = path.with_name(path.name + ".tmp")
    probabilities = np.lib.format.open_memmap(
        temporary, mode="w+", dtype=np.float32, shape=(total, model.output_shape[-1])
    )
    batches = _batches(images, size, settings["crop_fraction"], batch_size)
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
    clean_labels_path = out_dir / relabel_files.CLEAN_LABELS_FILE
    if np.all(labels >= 0) and not clean_labels_path.is_file():
        relabel_files.write_atomically(
            clean_labels_path, functools.partial(_save_npy, array=labels.astype(np.int16))
        )
    # Recorded before the rename: a complete .npy always has its settings.
    relabel_files.record_prediction_settings(out_dir, name, settings)
    os.replace(temporary, path)
    relabel_files.record_parameter_count(out_dir, name, int(model.count_params()))
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
