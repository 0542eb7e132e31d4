"""`imagenet-pi fake-data`: a manual_dir of synthetic tars and PI CSVs, what it wrote, and the
`tfds build` command to run next."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from imagenet_pi import annotations, cli, upstream


def test_fake_data_command_writes_tars_and_csvs_of_every_config(tmp_path, capsys):
    out = tmp_path / "manual"
    argv = ["fake-data", "--out", str(out), "--synsets", "3", "--images-per-synset", "2"]
    assert cli.main([*argv, "--validation", "4", "--image-size", "16"]) == 0
    assert (out / upstream.TRAIN_TAR).is_file() and (out / upstream.VAL_TAR).is_file()
    for config in upstream.NOISE_LEVELS:
        config_dir = out / "imagenet_pi" / config
        assert len(annotations.read_split(config_dir, "train").file_names) == 6
        assert len(annotations.read_split(config_dir, "validation").file_names) == 4
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Wrote 6 train and 4 validation images to ")
    assert printed[0].endswith(f"under {os.path.join(out, 'imagenet_pi')}.")


def test_fake_data_command_ends_with_the_build_command_of_each_config(tmp_path, capsys):
    out = tmp_path / "manual"
    argv = ["fake-data", "--out", str(out), "--synsets", "2", "--images-per-synset", "2"]
    assert cli.main([*argv, "--validation", "2", "--image-size", "16"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "Build it next:"
    assert printed[2:] == [
        f"  tfds build imagenet_pi/{config} --imports imagenet_pi --manual_dir {out} "
        f"--data_dir {out / 'tensorflow_datasets'}"
        for config in sorted(upstream.NOISE_LEVELS)
    ]


@pytest.mark.slow
def test_the_build_command_fake_data_prints_builds_the_sample(tmp_path):
    out = tmp_path / "my sample"  # a space: the command quotes paths
    argv = ["fake-data", "--out", str(out), "--configs", "low_noise", "--synsets", "2"]
    command = [sys.executable, "-m", "imagenet_pi.cli", *argv, "--validation", "3"]
    written = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    build = shlex.split(written.stdout.splitlines()[-1])
    assert build[:2] == ["tfds", "build"]
    build[0] = os.path.join(os.path.dirname(sys.executable), "tfds")
    result = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    builder = tfds.builder("imagenet_pi/low_noise", data_dir=str(out / "tensorflow_datasets"))
    assert builder.info.splits["validation"].num_examples == 3
