"""`imagenet-pi check-build`: what the command prints of a build whose files all match.

What a check finds in a damaged build is in tests/test_build_checks.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from imagenet_pi import cli

_CONFIG = "imagenet_pi/high_noise"


def _check(data_dir: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["check-build", "--dataset", _CONFIG, "--data-dir", data_dir, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_intact_build_passes(copied_build, capsys):
    code, out, _ = _check(copied_build, capsys)
    assert code == 0
    assert out.strip().endswith("files match the sizes and sha256 recorded when it was built.")


@pytest.mark.slow  # the command in a process of its own, TensorFlow's start-up included
def test_a_config_not_built_is_one_error_without_tfds_chatter(tmp_path):
    """TFDS's "Variant folder ... has no dataset_info.json" says what the error says."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TF_")}
    command = ["check-build", "--dataset", _CONFIG, "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "imagenet_pi.cli", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.startswith(f"imagenet-pi check-build: error: {_CONFIG} is not built in")
    assert "Variant folder" not in result.stderr, result.stderr
