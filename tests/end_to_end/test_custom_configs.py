"""The `tfds build` command builds a config folder of one's own from its JSON config, with the
labels the builder writes from Python."""

from __future__ import annotations

import json

import numpy as np
import pytest
import relabel_inputs
import tensorflow_datasets as tfds
import tfds_command

BETA = relabel_inputs.CUSTOM_BETA


@pytest.mark.slow
def test_tfds_build_command_builds_a_custom_config_from_json(
    custom_relabelled, custom_built, tmp_path
):
    manual_dir, _, config_dir = custom_relabelled
    name = custom_built[1].name  # the name relabel prints, derived from the folder
    config_json = json.dumps({"name": name, "beta": BETA, "annotations_dir": config_dir})
    result = tfds_command.tfds_build(
        "imagenet_pi", manual_dir, str(tmp_path), "--config", config_json
    )
    assert result.returncode == 0, result.stderr[-4000:]
    from_command = relabel_inputs.loaded(f"imagenet_pi/{name}", str(tmp_path), "validation")
    from_python = relabel_inputs.loaded(f"imagenet_pi/{name}", custom_built[0], "validation")
    order = np.argsort(from_command["file_name"]), np.argsort(from_python["file_name"])
    np.testing.assert_array_equal(
        from_command["annotator_labels"][order[0]], from_python["annotator_labels"][order[1]]
    )
    info = tfds.builder(f"imagenet_pi/{name}", data_dir=str(tmp_path)).info
    assert info.metadata["beta"] == BETA
