"""Keras' ImageNet weights: those in its cache are used, the others downloaded."""

from __future__ import annotations

import pytest

from imagenet_pi.relabelling import annotator_model_specs, keras_models
from imagenet_pi.relabelling.errors import WeightsDownloadError


def test_weights_already_in_keras_cache_are_not_downloaded(tmp_path, monkeypatch):
    # No network (a proxy on a closed port): only files already in the cache can pass.
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cache = tmp_path / "models"
    cache.mkdir()
    for name in ("VGG16", "MobileNet"):
        file_name, _ = annotator_model_specs.MODEL_SPECS[name].imagenet_weights(160)
        (cache / file_name).write_bytes(b"weights")
    keras_models.fetch_imagenet_weights(["VGG16", "MobileNet"], 160)
    with pytest.raises(WeightsDownloadError, match="mobilenet_1_0_224_tf.h5"):
        keras_models.fetch_imagenet_weights(["MobileNet"], 224)
