"""Images as inputs of the annotator models: decoded, centre-cropped, resized."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imagenet_pi.relabelling import annotator_predictions, model_inputs
from imagenet_pi.relabelling.errors import PredictionsError


def test_prepare_image_crops_the_centre():
    # A white centre square inside a black frame: a half-size central crop is all white.
    pixels = np.zeros((80, 120, 3), np.uint8)
    pixels[20:60, 40:80] = 255
    prepared = model_inputs.prepare_image(pixels, 16, crop_fraction=0.5).numpy()
    assert prepared.shape == (16, 16, 3) and prepared.dtype == np.float32
    np.testing.assert_allclose(prepared, 255.0, atol=1e-3)
    full = model_inputs.prepare_image(pixels, 16, crop_fraction=1.0).numpy()
    assert full.min() < 1.0  # the whole shorter side reaches the black frame


def test_prepare_image_decodes_bytes_and_grayscale():
    gray = np.full((30, 50, 1), 128, np.uint8)
    from_array = model_inputs.prepare_image(gray, 8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(gray[:, :, 0]).save(buffer, format="PNG")
    from_png = model_inputs.prepare_image(buffer.getvalue(), 8).numpy()
    assert from_array.shape == from_png.shape == (8, 8, 3)
    np.testing.assert_allclose(from_array, 128.0, atol=1e-3)
    np.testing.assert_allclose(from_png, 128.0, atol=1e-3)


def test_elements_need_image_and_file_name(tmp_path):
    with pytest.raises(PredictionsError, match="'image' and 'file_name'"):
        annotator_predictions.predict_split(
            [{"image": b"", "label": 3}], tmp_path, ["MobileNet"], weights=None
        )
