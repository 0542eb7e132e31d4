"""Decoding, cropping and normalising images as small TensorFlow ops."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from imagenet_pi import fake_data, preprocessing


@pytest.mark.parametrize("image_format", ["jpeg", "cmyk", "png"])
def test_preprocessing_decodes_every_ilsvrc_format(image_format):
    image_bytes = fake_data.encode_image(np.random.default_rng(0), 64, image_format)
    for train in (True, False):
        image = preprocessing.decode_and_resize(
            tf.constant(image_bytes), tf.constant([0, 1], tf.int64), train=train, image_size=24
        )
        assert image.shape == (24, 24, 3) and image.dtype == tf.float32
        assert float(tf.reduce_min(image)) >= 0 and float(tf.reduce_max(image)) <= 255


def test_train_crop_is_a_function_of_the_seed():
    image_bytes = tf.constant(fake_data.encode_image(np.random.default_rng(0), 96))

    def crop(seed):
        return preprocessing.decode_and_resize(
            image_bytes, tf.constant(seed, tf.int64), train=True, image_size=32
        ).numpy()

    np.testing.assert_array_equal(crop([1, 2]), crop([1, 2]))
    assert not np.array_equal(crop([1, 2]), crop([1, 3]))


@pytest.mark.parametrize(
    ("normalisation", "expected"),
    [
        ("imagenet", lambda x: (x - preprocessing.IMAGENET_MEAN) / preprocessing.IMAGENET_STD),
        ("zero_one", lambda x: x / 255),
        ("minus_one_one", lambda x: x / 127.5 - 1),
        ("none", lambda x: x),
    ],
)
def test_normalise_matches_its_formula_and_leaves_read_only_input_alone(normalisation, expected):
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, 5, 7, 3)).astype(np.float32)
    read_only = pixels.copy()
    read_only.flags.writeable = False
    np.testing.assert_allclose(
        preprocessing.normalise(read_only, normalisation), expected(pixels), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(read_only, pixels)
    with pytest.raises(ValueError, match="imagenet"):
        preprocessing.normalise(pixels, "standard")
