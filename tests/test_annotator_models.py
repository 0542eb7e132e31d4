"""`imagenet_pi.annotator_models`, the public path of `imagenet-pi predict`, gives its names."""

from __future__ import annotations

import pytest

from imagenet_pi import annotator_models
from imagenet_pi.relabelling import (
    annotator_model_specs,
    annotator_predictions,
    errors,
    keras_models,
    model_inputs,
)


@pytest.mark.parametrize(
    "name, module",
    [
        ("predict_split", annotator_predictions),
        ("DEFAULT_BATCH_SIZE", annotator_predictions),
        ("build_model", keras_models),
        ("fetch_imagenet_weights", keras_models),
        ("prepare_image", model_inputs),
        ("DEFAULT_CROP_FRACTION", model_inputs),
        ("MODEL_SPECS", annotator_model_specs),
        ("AnnotatorModel", annotator_model_specs),
        ("PredictionsError", errors),
        ("WeightsDownloadError", errors),
    ],
)
def test_the_public_path_gives_the_names_of_predicting(name, module):
    assert getattr(annotator_models, name) is getattr(module, name)
