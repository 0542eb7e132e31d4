"""`imagenet_pi.annotator_models`, the public path of `imagenet-pi predict`, gives its names."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "name, module",
    [
        ("predict_split", "imagenet_pi.relabelling.annotator_predictions"),
        ("DEFAULT_BATCH_SIZE", "imagenet_pi.relabelling.annotator_predictions"),
        ("build_model", "imagenet_pi.relabelling.keras_models"),
        ("fetch_imagenet_weights", "imagenet_pi.relabelling.keras_models"),
        ("prepare_image", "imagenet_pi.relabelling.model_inputs"),
        ("DEFAULT_CROP_FRACTION", "imagenet_pi.relabelling.model_inputs"),
        ("MODEL_SPECS", "imagenet_pi.relabelling.annotator_model_specs"),
        ("AnnotatorModel", "imagenet_pi.relabelling.annotator_model_specs"),
        ("PredictionsError", "imagenet_pi.relabelling.errors"),
        ("WeightsDownloadError", "imagenet_pi.relabelling.errors"),
    ],
)
def test_the_public_path_gives_the_names_of_predicting(name, module):
    # Imported here, not at collection: predicting imports Keras and TensorFlow.
    from imagenet_pi import annotator_models

    assert getattr(annotator_models, name) is getattr(importlib.import_module(module), name)
