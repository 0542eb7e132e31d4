"""Image preprocessing as small TensorFlow ops: decode, crop, flip, resize, normalise.

Training uses the Inception-style random resized crop (area 8%-100% of the image,
aspect ratio 3/4-4/3) and a horizontal flip; evaluation takes the centre crop that
`resize shorter side to size * 256 / 224, then crop size x size` would take. Both
decode only the crop window of a JPEG (`tf.io.decode_and_crop_jpeg`), which skips
most of the decoding work. Non-JPEG bytes (ILSVRC2012 has a PNG behind a .JPEG
name) fall back to a full decode.

Normalisation: `normalise_image` in TensorFlow on each image, where the pipelines
use it (the image is still in cache, and no batch-sized array is allocated for it);
`normalise` in numpy on whole batches, for other callers.

Randomness is stateless: every random op takes a `(2,) int32/int64` seed, so
the same seed gives the same image in tf.data, in grain, in any thread.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Per-channel mean and standard deviation of ImageNet pixels, on the 0..255 scale.
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
_IMAGENET_MEAN = np.array(IMAGENET_MEAN, np.float32)
_IMAGENET_STD = np.array(IMAGENET_STD, np.float32)

NORMALISATIONS = ("imagenet", "zero_one", "minus_one_one", "none")

_CROP_AREA = (0.08, 1.0)
_CROP_ASPECT_RATIO = (3 / 4, 4 / 3)
_CROP_ATTEMPTS = 10
_EVAL_CROP_FRACTION = 224 / 256


def _image_shape(image_bytes: tf.Tensor) -> tf.Tensor:
    """`(height, width)` int32 of encoded image bytes, reading only the JPEG header when it can."""
    return tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.extract_jpeg_shape(image_bytes)[:2],
        lambda: tf.shape(tf.io.decode_image(image_bytes, channels=3, expand_animations=False))[:2],
    )


def _decode_window(image_bytes: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """The `(offset_y, offset_x, height, width)` window of the image, `(h, w, 3) uint8`."""

    def full_decode():
        image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
        return tf.image.crop_to_bounding_box(image, window[0], window[1], window[2], window[3])

    return tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.decode_and_crop_jpeg(image_bytes, window, channels=3),
        full_decode,
    )


def random_crop_window(image_shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """An Inception-style crop window `(offset_y, offset_x, height, width) int32`.

    Samples area and aspect ratio; after failed attempts, falls back to the whole image.
    """
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.concat([image_shape, [3]], axis=0),
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=(1, 1, 4)),
        seed=seed,
        min_object_covered=0.1,
        aspect_ratio_range=_CROP_ASPECT_RATIO,
        area_range=_CROP_AREA,
        max_attempts=_CROP_ATTEMPTS,
        use_image_if_no_bounding_boxes=True,
    )
    return tf.stack([begin[0], begin[1], size[0], size[1]])


def center_crop_window(image_shape: tf.Tensor) -> tf.Tensor:
    """The centre square window `(offset_y, offset_x, side, side) int32` taking 224/256 of
    the shorter side, the crop of "resize shorter side to 256, centre crop 224"."""
    height, width = image_shape[0], image_shape[1]
    side = tf.cast(_EVAL_CROP_FRACTION * tf.cast(tf.minimum(height, width), tf.float32), tf.int32)
    return tf.stack([(height - side + 1) // 2, (width - side + 1) // 2, side, side])


def normalise(images: np.ndarray, normalisation: str) -> np.ndarray:
    """Maps `(..., height, width, 3)` float32 pixel values in 0..255, in numpy, in place
    when `images` is a writable float32 array (pass a copy to keep the original).

    "imagenet": (x - mean) / std per channel; "zero_one": x / 255; "minus_one_one":
    x / 127.5 - 1; "none": unchanged. Applied to whole batches, as one multiply and
    one add whose per-channel factors are tiled along the width (broadcasting a
    3-vector makes numpy and TensorFlow loop 3 elements at a time, ~10x slower).
    """
    scale, offset = _scale_and_offset(normalisation)
    if normalisation == "none":
        return images
    images = np.ascontiguousarray(images, np.float32)
    width = images.shape[-2]
    rows = images.reshape(-1, width * 3)
    scale = np.tile(scale, width).astype(np.float32)
    # In place when we may: a fresh batch-sized array costs page faults on every batch.
    out = np.multiply(rows, scale, out=rows if images.flags.writeable else None)
    out += np.tile(offset, width).astype(np.float32)
    return out.reshape(images.shape)


def normalise_image(image: tf.Tensor, normalisation: str) -> tf.Tensor:
    """`normalise` of one `(height, width, 3) float32` image (static shape), in TensorFlow.

    The factors are whole images, not 3-vectors: TensorFlow broadcasts a 3-vector
    several times slower than it multiplies two arrays of the same shape.
    """
    scale, offset = _scale_and_offset(normalisation)
    if normalisation == "none":
        return image
    shape = image.shape.as_list()
    return image * np.broadcast_to(scale, shape) + np.broadcast_to(offset, shape)


def _scale_and_offset(normalisation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel `(3,) float32` factors: normalised = pixels * scale + offset."""
    if normalisation not in NORMALISATIONS:
        raise ValueError(
            f"normalise must be one of {', '.join(NORMALISATIONS)}, got {normalisation!r}"
        )
    scale, offset = {
        "imagenet": (1 / _IMAGENET_STD, -_IMAGENET_MEAN / _IMAGENET_STD),
        "zero_one": (np.full(3, 1 / 255), np.zeros(3)),
        "minus_one_one": (np.full(3, 1 / 127.5), np.full(3, -1.0)),
        "none": (np.ones(3), np.zeros(3)),
    }[normalisation]
    return scale.astype(np.float32), offset.astype(np.float32)


def decode_and_resize(
    image_bytes: tf.Tensor, seed: tf.Tensor, *, train: bool, image_size: int = 224
) -> tf.Tensor:
    """Encoded image -> `(image_size, image_size, 3) float32` pixels in 0..255.

    Args:
      image_bytes: scalar tf.string, a JPEG (or any format `tf.io.decode_image` reads).
      seed: `(2,)` int seed of the random crop and flip; unused when not `train`.
      train: random resized crop + horizontal flip; else the centre crop.
      image_size: output side in pixels.
    """
    shape = _image_shape(image_bytes)
    if train:
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        window = random_crop_window(shape, crop_seed)
    else:
        window = center_crop_window(shape)
    image = _decode_window(image_bytes, window)
    if train:  # flipping the uint8 crop is cheaper than flipping the float output
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=False)
    return tf.reshape(image, (image_size, image_size, 3))
