"""ILSVRC2012 inputs as a user meets them through the `tfds build` command."""

from __future__ import annotations

import pytest
import tensorflow_datasets as tfds
import tfds_command

from imagenet_pi.ilsvrc import verification


@pytest.mark.slow
@pytest.mark.parametrize("value", ["on", "TRUE"])
def test_tfds_build_with_the_variable_on_checks_the_sums(
    fresh_sample, tmp_path, monkeypatch, value
):
    manual_dir, _ = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, value)
    data_dir = str(tmp_path / "data")
    result = tfds_command.tfds_build("imagenet_pi/high_noise", manual_dir, data_dir)
    assert result.returncode != 0
    assert "ILSVRC2012_img_train.tar has sha256" in result.stderr, result.stderr[-3000:]
    assert not tfds.builder("imagenet_pi/high_noise", data_dir=data_dir).is_prepared()
