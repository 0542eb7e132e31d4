"""Predictive distributions of the `tf.keras.applications` annotator models over a split.

The first step of relabelling: each of the 16 upstream annotator models classifies every
image of a split, with its own input size and `preprocess_input`. Results go to a predictions
folder (its format is `imagenet_pi.relabel_files`) that `imagenet-pi relabel` reads:

    <out_dir>/file_names.txt         the N image file names, one a line, in row order
    <out_dir>/<Model>.npy            (N, 1000) float32 probabilities of one model
    <out_dir>/clean_labels.npy       (N,) int16 clean labels, when the images come with them
    <out_dir>/parameter_counts.json  {model name: parameter count}

Resumable: a model whose `.npy` is already there is skipped (files are written under a
temporary name and renamed when complete).

Upstream does not say how it resized images; here each image is centre-cropped to
`crop_fraction` of its shorter side (0.875, the usual 224-of-256 evaluation crop) and resized
to the model's input size, antialiased.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tqdm

from imagenet_pi import relabel_files, upstream
from imagenet_pi.file_names import as_str

DEFAULT_BATCH_SIZE = 32
DEFAULT_CROP_FRACTION = 0.875
_NO_LABEL = -1


@dataclasses.dataclass(frozen=True)
class AnnotatorModel:
    """How to run one `keras.applications` model."""

    name: str  # constructor in keras.applications, e.g. "InceptionV3"
    module: str  # keras.applications submodule with its preprocess_input
    input_size: int  # side of the square input its ImageNet weights expect


MODEL_SPECS = {
    model.name: model
    for model in (
        AnnotatorModel("ResNet50V2", "resnet_v2", 224),
        AnnotatorModel("ResNet101V2", "resnet_v2", 224),
        AnnotatorModel("ResNet152V2", "resnet_v2", 224),
        AnnotatorModel("DenseNet121", "densenet", 224),
        AnnotatorModel("DenseNet169", "densenet", 224),
        AnnotatorModel("DenseNet201", "densenet", 224),
        AnnotatorModel("InceptionResNetV2", "inception_resnet_v2", 299),
        AnnotatorModel("InceptionV3", "inception_v3", 299),
        AnnotatorModel("MobileNet", "mobilenet", 224),
        AnnotatorModel("MobileNetV2", "mobilenet_v2", 224),
        AnnotatorModel("MobileNetV3Large", "mobilenet_v3", 224),
        AnnotatorModel("MobileNetV3Small", "mobilenet_v3", 224),
        AnnotatorModel("NASNetMobile", "nasnet", 224),
        AnnotatorModel("VGG16", "vgg16", 224),
        AnnotatorModel("VGG19", "vgg19", 224),
        AnnotatorModel("Xception", "xception", 299),
    )
}


class PredictionsError(ValueError):
    """The images or an existing predictions folder cannot be used as asked."""


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
    if name not in MODEL_SPECS:
        raise ValueError(f"model: expected one of {list(MODEL_SPECS)}, found {name!r}")
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
    except ValueError:
        return False
    return existing.ndim == 2 and existing.shape[0] == num_examples


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

    Args:
      images: a `tf.data.Dataset` (e.g. `tfds.load("imagenet_pi/high_noise", split=...)` or
        `imagenet2012`) or any iterable; elements are dicts with `image` (encoded bytes or
        `(h, w, 3)` uint8), `file_name` and optionally `clean_label` or `label`, or tuples
        `(image, file_name[, label])`.
      out_dir: the predictions folder of this split (created).
      models: names in `MODEL_SPECS`; default the 16 upstream ones.
      weights: "imagenet", None (random weights, for tests) or a weights file.
      input_size: one input side for every model; default each model's own.
      crop_fraction: central crop, as a fraction of the shorter image side.
      batch_size: images per model call.
      num_examples: the number of images, when `len(images)` / the dataset cardinality is
        unknown.
      progress: show a tqdm progress bar per model.

    Returns:
      model name -> path of its `(N, 1000) float32` `.npy`.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}")
    unknown = [name for name in models if name not in MODEL_SPECS]
    if unknown:
        raise ValueError(f"models: expected names in {list(MODEL_SPECS)}, found {unknown}")
    total = _num_examples(images, num_examples)
    expected_names = _existing_file_names(out_dir, total)
    paths = {}
    for name in models:
        paths[name] = relabel_files.predictions_path(out_dir, name)
        if _is_complete(paths[name], total):
            continue
        model, preprocess_input = build_model(name, weights, input_size)
        size = input_size or MODEL_SPECS[name].input_size
        temporary = paths[name].with_name(paths[name].name + ".tmp")
        probabilities = np.lib.format.open_memmap(
            temporary, mode="w+", dtype=np.float32, shape=(total, model.output_shape[-1])
        )
        batches = _batches(images, size, crop_fraction, batch_size)
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
        os.replace(temporary, paths[name])
        relabel_files.record_parameter_count(out_dir, name, int(model.count_params()))
        keras.backend.clear_session()  # frees the model's graph before the next one
    return paths


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
