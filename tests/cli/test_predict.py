"""`imagenet-pi predict`, run in-process through `cli.main`: predictions of a built split, and
the flags checked before any model runs."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_pi import cli, upstream
from imagenet_pi.relabelling import predictions_folder


@pytest.mark.slow
def test_predict_command_writes_predictions_of_a_built_split(built_high_noise, tmp_path):
    data_dir, sample = built_high_noise
    argv = [
        "predict", "--split", "validation", "--out", str(tmp_path),
        "--dataset", "imagenet_pi/high_noise", "--data-dir", data_dir,
        "--models", "MobileNetV3Small", "--weights", "none", "--input-size", "48",
        "--batch-size", "4", "--no-progress",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    split_dir = tmp_path / "validation"
    names = predictions_folder.read_file_names(split_dir).tolist()
    assert sorted(names) == sorted(sample.validation_file_names)
    probabilities = np.load(split_dir / "MobileNetV3Small.npy")
    assert probabilities.shape == (len(names), upstream.NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-3)
    clean_of = dict(zip(sample.validation_file_names, sample.validation_clean_labels.tolist()))
    clean = np.load(split_dir / predictions_folder.CLEAN_LABELS_FILE)
    assert clean.tolist() == [clean_of[name] for name in names]


def test_predict_command_on_an_unbuilt_dataset_says_to_build_it(tmp_path, capsys):
    argv = ["predict", "--split", "train", "--out", str(tmp_path / "p")]
    argv += ["--dataset", "imagenet_pi/low_noise", "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 1
    assert "not built" in capsys.readouterr().err


def _predict_argv(out, *extra) -> list[str]:
    return ["predict", "--split", "validation", "--out", str(out), "--no-progress", *extra]


def test_predict_input_size_below_a_models_minimum_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(_predict_argv(tmp_path / "p", "--input-size", "32", "--weights", "none"))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("imagenet-pi predict: error: argument --input-size: expected an input")
    for model, minimum in (("InceptionResNetV2", 75), ("InceptionV3", 75), ("Xception", 71)):
        assert f"{model} takes at least {minimum}" in line
    assert "ResNet50V2" not in line
    assert not (tmp_path / "p").exists()


def test_predict_input_size_without_imagenet_weights_is_a_usage_error(tmp_path, capsys):
    argv = _predict_argv(tmp_path / "p", "--input-size", "100", "--models", "VGG16", "MobileNet")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "VGG16 takes 224 with ImageNet weights" in line
    assert "MobileNet takes 128, 160, 192 or 224 with ImageNet weights" in line
    assert "--weights none" in line


def test_predict_input_size_every_model_takes_is_accepted(tmp_path, capsys):
    # Past the flag checks: the dataset is what is missing.
    argv = _predict_argv(tmp_path / "p", "--input-size", "75", "--weights", "none")
    argv += ["--dataset", "imagenet_pi/low_noise", "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 1
    assert "not built" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_resuming_with_another_input_size_is_refused(built_high_noise, tmp_path, capsys):
    data_dir, _ = built_high_noise
    argv = _predict_argv(tmp_path, "--dataset", "imagenet_pi/high_noise", "--data-dir", data_dir)
    argv += ["--models", "MobileNetV3Small", "--weights", "none", "--batch-size", "4"]
    assert cli.main([*argv, "--input-size", "48"]) == 0
    capsys.readouterr()
    assert cli.main([*argv, "--input-size", "64"]) == 1
    line = capsys.readouterr().err.strip()
    split_dir = tmp_path / "validation"
    assert line.startswith(f"imagenet-pi predict: error: {split_dir}: MobileNetV3Small.npy was ")
    assert "weights none, input size 48, crop fraction 0.875" in line
    assert "this run asks for weights none, input size 64" in line
    assert "new folder (--out)" in line
