"""Images of a split as inputs of the annotator models: decoded, centre-cropped, resized, batched.

Upstream does not say how it resized images; here each image is centre-cropped to
`crop_fraction` of its shorter side (0.875, the usual 224-of-256 evaluation crop) and resized
to the model's input size, antialiased. Each model's own `preprocess_input` comes after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf

from imagenet_pi.file_names import as_str
from imagenet_pi.relabelling.errors import PredictionsError

DEFAULT_CROP_FRACTION = 0.875
_NO_LABEL = -1


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


def batches(
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
