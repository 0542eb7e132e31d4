"""The `imagenet-pi` command as a user runs it: the console script and `python -m
imagenet_pi.cli`, in processes of their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from imagenet_pi import cli

_CONFIG = "imagenet_pi/high_noise"


def _shards(data_dir: str) -> list[str]:
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    return [os.fspath(path) for split in builder.info.splits.values() for path in split.filepaths]


@pytest.mark.slow
def test_check_build_command_finds_a_truncated_shard(copied_build):
    shard = _shards(copied_build)[0]
    with open(shard, "r+b") as file:
        file.truncate(10)
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "imagenet-pi"),
            "check-build", "--dataset", _CONFIG, "--data-dir", copied_build,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{shard}: has 10 bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_dash_m_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "imagenet_pi.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: imagenet-pi ")
    for command in cli.COMMANDS:
        assert f"    {command.name} " in result.stdout
