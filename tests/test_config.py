"""`ImagenetPiConfig` refuses a beta that would reach the metadata wrong, however it is made."""

from __future__ import annotations

import json
import math
import os
import shutil

import numpy as np
import pytest
import tfds_command

import imagenet_pi
from imagenet_pi import relabel
from imagenet_pi.imagenet_pi_dataset_builder import ImagenetPiConfig
from imagenet_pi.relabelling import relabel_metadata


@pytest.mark.parametrize("beta", [0, -0.5, math.nan, math.inf, "0.3", True, [0.3]])
def test_config_refuses_a_beta_that_is_not_a_finite_positive_number(beta):
    with pytest.raises(ValueError, match="beta must be a finite number > 0") as error:
        ImagenetPiConfig(name="mine", beta=beta, annotations_dir="/abs/mine")
    assert repr(beta) in str(error.value)


@pytest.mark.parametrize("beta", [0.3, 2, np.float32(0.25), None])
def test_config_keeps_a_valid_beta_as_a_float(beta):
    config = ImagenetPiConfig(name="mine", beta=beta, annotations_dir="/abs/mine")
    assert config.beta == (None if beta is None else float(beta))
    assert config.beta is None or type(config.beta) is float


def test_config_and_relabel_share_one_check():
    # The same message from both: one function, not two that may drift apart.
    with pytest.raises(ValueError) as from_config:
        ImagenetPiConfig(name="mine", beta=-1.0)
    with pytest.raises(ValueError) as from_relabel:
        relabel.check_beta(-1.0)
    assert str(from_config.value) == str(from_relabel.value)


def test_custom_config_refuses_a_bad_beta_in_relabel_json(tmp_path, small_sample):
    manual_dir, _ = small_sample
    config_dir = tmp_path / "mine"
    shutil.copytree(os.path.join(manual_dir, "imagenet_pi", "high_noise"), config_dir)
    (config_dir / relabel_metadata.METADATA_FILE).write_text(json.dumps({"beta": "0.3"}))
    with pytest.raises(ValueError, match="beta must be a finite number > 0.*of type str"):
        imagenet_pi.custom_config(config_dir)


@pytest.mark.slow
def test_tfds_build_command_refuses_a_bad_beta_before_building(tmp_path, small_sample):
    manual_dir, _ = small_sample
    config_json = json.dumps(
        {"name": "bad", "beta": 0, "annotations_dir": os.path.join(manual_dir, "imagenet_pi")}
    )
    result = tfds_command.tfds_build(
        "imagenet_pi", manual_dir, str(tmp_path), "--config", config_json
    )
    assert result.returncode != 0
    assert "beta must be a finite number > 0" in result.stderr
    assert not os.path.exists(tmp_path / "imagenet_pi" / "bad")
