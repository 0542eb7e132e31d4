"""`imagenet-pi fake-data`: a manual_dir of synthetic tars and PI CSVs, and one line saying so."""

from __future__ import annotations

import os

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
    printed = capsys.readouterr().out
    assert printed.startswith("Wrote 6 train and 4 validation images to ")
    assert printed.strip().endswith(f"under {os.path.join(out, 'imagenet_pi')}.")
