"""`imagenet-pi predict` without network, as a user runs it: one error line, nothing left."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest


def _predict_argv(out, *extra) -> list[str]:
    return ["predict", "--split", "validation", "--out", str(out), "--no-progress", *extra]


# A proxy nobody listens on: downloads fail at once, and never reach a network.
_OFFLINE = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "no_proxy": ""}


def _run_installed_cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    command = os.path.join(os.path.dirname(sys.executable), "imagenet-pi")
    return subprocess.run(
        [command, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **_OFFLINE, **env},
    )


@pytest.mark.slow
def test_predict_without_network_is_one_error_line_and_leaves_nothing(built_high_noise, tmp_path):
    data_dir, _ = built_high_noise
    keras_home = tmp_path / "keras"  # no weights in the cache
    argv = _predict_argv(tmp_path / "preds", "--models", "ResNet50V2", "MobileNet")
    argv += ["--dataset", "imagenet_pi/high_noise", "--data-dir", data_dir]
    started = time.monotonic()
    result = _run_installed_cli(argv, KERAS_HOME=str(keras_home))
    assert time.monotonic() - started < 120  # TensorFlow's start-up; the download fails at once
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    url = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
    url += "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5"
    assert lines[0].startswith(
        f"imagenet-pi predict: error: could not download the ImageNet weights of ResNet50V2, {url}"
    )
    cache = keras_home / "models"
    assert f"{cache / 'resnet50v2_weights_tf_dim_ordering_tf_kernels.h5'} (Keras' cache" in lines[0]
    assert "mobilenet_1_0_224_tf.h5 (MobileNet)" in lines[0]
    assert "--weights FILE" in lines[0] and "--weights none" in lines[0]
    assert not (tmp_path / "preds").exists() and not cache.exists()
