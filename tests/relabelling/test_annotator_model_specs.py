"""The table of annotator models against keras.applications itself.

`annotator_model_specs` holds, without importing Keras, the input sides each model takes and
the ImageNet weights file Keras fetches for it. These tests ask Keras. No test touches the
network: downloads go to a proxy on a closed local port, which refuses at once.
"""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import pytest

from imagenet_pi import upstream
from imagenet_pi.relabelling import annotator_model_specs

SPECS = annotator_model_specs.MODEL_SPECS
# A proxy nobody listens on: a download fails in milliseconds, with or without a network.
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "no_proxy": ""}


def test_the_table_holds_the_sixteen_upstream_models():
    assert tuple(SPECS) == upstream.ANNOTATOR_MODELS
    for spec in SPECS.values():
        assert hasattr(keras.applications, spec.name)
        assert callable(getattr(keras.applications, spec.module).preprocess_input)


@pytest.mark.parametrize("name", upstream.ANNOTATOR_MODELS)
def test_minimum_input_size_is_the_one_keras_checks(name):
    # Keras refuses one pixel less before building anything, naming its minimum.
    below = SPECS[name].min_input_size - 1
    with pytest.raises(ValueError, match=f"at least {below + 1}x{below + 1}"):
        getattr(keras.applications, name)(weights=None, input_shape=(below, below, 3))


def _sizes_keras_refuses_with_imagenet_weights(spec) -> list[int]:
    probes = {spec.min_input_size, 100, 200, 256, 300}
    probes |= {size + step for size in spec.imagenet_input_sizes for step in (-1, 1)}
    return sorted(p for p in probes - set(spec.imagenet_input_sizes) if p >= spec.min_input_size)


@pytest.mark.parametrize(
    "name", [name for name, spec in SPECS.items() if spec.imagenet_input_sizes is not None]
)
def test_imagenet_weights_sizes_are_the_only_ones_keras_takes(name, monkeypatch):
    for variable, value in OFFLINE.items():
        monkeypatch.setenv(variable, value)
    spec = SPECS[name]
    for size in _sizes_keras_refuses_with_imagenet_weights(spec):
        # A ValueError before building; a size Keras took would end in a failed download.
        with pytest.raises(ValueError):
            getattr(keras.applications, name)(weights="imagenet", input_shape=(size, size, 3))
        assert spec.input_size_requirement(size, imagenet_weights=True) is not None
    for size in spec.imagenet_input_sizes:
        assert spec.input_size_requirement(size, imagenet_weights=True) is None


_ASK_KERAS_FOR_WEIGHTS = """
import json, os, sys
import keras
from imagenet_pi.relabelling import annotator_model_specs

cache = annotator_model_specs.keras_cache_dir()
cache.mkdir(parents=True)
result = []
for name, size, plant in json.loads(sys.argv[1]):
    file_name, url = annotator_model_specs.MODEL_SPECS[name].imagenet_weights(size)
    planted = cache / file_name
    if plant:  # a damaged file where the table says Keras keeps it
        planted.write_bytes(b"not weights")
    try:
        getattr(keras.applications, name)(weights="imagenet", input_shape=(size, size, 3))
        error = ""
    except Exception as caught:
        error = str(caught)
    result.append([name, size, plant, url in error, planted.exists()])
    planted.unlink(missing_ok=True)
    keras.backend.clear_session()
print(json.dumps(result))
"""


@pytest.mark.slow
def test_weights_urls_and_cache_names_are_those_keras_uses(tmp_path):
    cases = []
    for name, spec in SPECS.items():
        sizes = spec.imagenet_input_sizes or (spec.input_size, 96)
        for size in sizes:
            cases += [(name, size, True)]
            if name in ("MobileNet", "MobileNetV2"):  # no checksum: Keras loads what it finds
                cases += [(name, size, False)]
    env = {**OFFLINE, "KERAS_HOME": str(tmp_path / "keras"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _ASK_KERAS_FOR_WEIGHTS, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, size, plant, asked_url, planted_left in json.loads(result.stdout.splitlines()[-1]):
        if name in ("MobileNet", "MobileNetV2"):
            if plant:  # Keras read the planted file (and failed on it) instead of downloading
                assert not asked_url and planted_left, (name, size)
            else:
                assert asked_url, (name, size)
        else:
            # Keras found the planted file, saw its checksum was wrong, downloaded from the
            # URL, failed, and removed its download target: the planted file.
            assert asked_url and not planted_left, (name, size)


def test_input_size_check_names_every_model_that_does_not_take_it():
    with pytest.raises(ValueError) as error:
        annotator_model_specs.check_input_size(upstream.ANNOTATOR_MODELS, 32, False)
    message = str(error.value)
    assert "found 32" in message
    assert "InceptionResNetV2 takes at least 75" in message
    assert "InceptionV3 takes at least 75" in message
    assert "Xception takes at least 71" in message
    assert "ResNet50V2" not in message


def test_input_size_check_names_the_sizes_of_imagenet_weights():
    with pytest.raises(ValueError) as error:
        annotator_model_specs.check_input_size(["MobileNet", "MobileNetV3Small"], 100, True)
    message = str(error.value)
    assert "MobileNet takes 128, 160, 192 or 224 with ImageNet weights" in message
    assert "MobileNetV3Small" not in message and "--weights none" in message


def test_input_size_every_model_takes_passes():
    annotator_model_specs.check_input_size(upstream.ANNOTATOR_MODELS, 75, False)
    annotator_model_specs.check_input_size(upstream.ANNOTATOR_MODELS, None, True)
    annotator_model_specs.check_input_size(["MobileNet", "MobileNetV2"], 128, True)


def test_every_upstream_model_has_its_input_size():
    sizes = {name: spec.input_size for name, spec in annotator_model_specs.MODEL_SPECS.items()}
    assert {name for name, size in sizes.items() if size == 299} == {
        "InceptionV3",
        "InceptionResNetV2",
        "Xception",
    }
    assert sizes["NASNetMobile"] == 224
