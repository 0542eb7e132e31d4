"""`imagenet-pi relabel` and `imagenet-pi predict`, run in-process through `cli.main`."""

from __future__ import annotations

import json
import os
import shlex
import shutil

import numpy as np
import pytest

from imagenet_pi import (
    annotations,
    cli,
    fake_data,
    parallel_relabel,
    relabel,
    relabel_files,
    upstream,
)

NUM_TRAIN = 40
NUM_VALIDATION = 30


@pytest.fixture(scope="module")
def predictions(tmp_path_factory) -> str:
    """Probabilities of the 16 synthetic annotator models over two small splits."""
    root = tmp_path_factory.mktemp("predictions")
    rng = np.random.default_rng(5)
    for split, count in (("train", NUM_TRAIN), ("validation", NUM_VALIDATION)):
        split_dir = root / split
        split_dir.mkdir()
        clean = rng.integers(0, upstream.NUM_CLASSES, count)
        if split == "train":
            names = [f"n01440764_{i}.JPEG" for i in range(count)]
        else:
            names = [f"ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(count)]
        (split_dir / relabel_files.FILE_NAMES_FILE).write_text("".join(f"{n}\n" for n in names))
        for annotator, model in enumerate(upstream.ANNOTATOR_MODELS):
            probs = fake_data.annotator_probabilities(clean, annotator, 1, upstream.NUM_ANNOTATORS)
            np.save(relabel_files.predictions_path(split_dir, model), probs.astype(np.float32))
        np.save(split_dir / relabel_files.CLEAN_LABELS_FILE, clean.astype(np.int16))
        counts = {m: 1e6 * (i + 1) for i, m in enumerate(upstream.ANNOTATOR_MODELS)}
        (split_dir / relabel_files.PARAMETER_COUNTS_FILE).write_text(json.dumps(counts))
    return str(root)


def _relabel_argv(predictions: str, out, *extra) -> list[str]:
    return [
        "relabel", "--predictions", predictions, "--beta", "0.25", "--seed", "4",
        "--out", str(out), "--no-progress", *map(str, extra),
    ]  # fmt: skip


def test_relabel_command_draws_the_labels_of_relabel_split(predictions, tmp_path):
    assert cli.main(_relabel_argv(predictions, tmp_path / "out")) == 0
    for split in upstream.SPLITS:
        split_dir = os.path.join(predictions, split)
        paths = [relabel_files.predictions_path(split_dir, m) for m in upstream.ANNOTATOR_MODELS]
        names = relabel_files.read_file_names(split_dir)
        labels, confidences = parallel_relabel.relabel_split(
            paths, names, 0.25, relabel.split_seed(4, split)
        )
        written = annotations.read_split(tmp_path / "out", split)
        order = np.argsort(names.astype(str))
        np.testing.assert_array_equal(written.labels, labels[order])
        np.testing.assert_allclose(written.confidences, confidences[order], rtol=1e-6)


def test_relabel_command_records_its_parameters(predictions, tmp_path):
    assert cli.main(_relabel_argv(predictions, tmp_path)) == 0
    metadata = relabel_files.read_metadata(tmp_path)
    assert (metadata["beta"], metadata["seed"], metadata["from_logits"]) == (0.25, 4, False)
    assert metadata["models"] == list(upstream.ANNOTATOR_MODELS)


def test_relabel_command_prints_a_working_tfds_build_config(predictions, tmp_path, capsys):
    assert cli.main(_relabel_argv(predictions, tmp_path)) == 0
    out = capsys.readouterr().out
    command = next(line for line in out.splitlines() if "tfds build" in line)
    config = json.loads(shlex.split(command)[shlex.split(command).index("--config") + 1])
    assert config == {"name": "beta_0.25", "beta": 0.25, "annotations_dir": str(tmp_path)}
    assert "tfds.load('imagenet_pi/beta_0.25'" in out


def test_annotator_features_flag_copies_the_given_table(predictions, tmp_path):
    features = np.arange(32, dtype=np.float32).reshape(16, 2) / 10
    annotations.write_annotator_features(tmp_path / "given", features)
    argv = _relabel_argv(
        predictions, tmp_path / "out", "--annotator-features", str(tmp_path / "given")
    )
    assert cli.main(argv) == 0
    np.testing.assert_allclose(annotations.read_annotator_features(tmp_path / "out"), features)


def test_features_are_computed_from_accuracy_and_parameter_counts(predictions, tmp_path):
    assert cli.main(_relabel_argv(predictions, tmp_path)) == 0
    features = annotations.read_annotator_features(tmp_path)
    # z-scored columns; the parameter counts 1e6..16e6 grow with the column.
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-5)
    assert np.all(np.diff(features[:, 1]) > 0)


def test_from_logits_flag_reads_logits(predictions, tmp_path):
    logits_dir = shutil.copytree(predictions, tmp_path / "logits")
    for split in upstream.SPLITS:
        for model in upstream.ANNOTATOR_MODELS:
            path = relabel_files.predictions_path(logits_dir / split, model)
            np.save(path, np.log(np.load(path)) + 3.0)  # logits, up to a constant
    assert cli.main(_relabel_argv(predictions, tmp_path / "from_probs")) == 0
    argv = _relabel_argv(str(logits_dir), tmp_path / "from_logits", "--from-logits")
    assert cli.main(argv) == 0
    np.testing.assert_array_equal(
        annotations.read_split(tmp_path / "from_logits", "train").labels,
        annotations.read_split(tmp_path / "from_probs", "train").labels,
    )


def test_logits_without_the_flag_are_refused_with_a_hint(predictions, tmp_path, capsys):
    copy = shutil.copytree(predictions, tmp_path / "p")
    np.save(copy / "validation" / "VGG16.npy", np.full((NUM_VALIDATION, 1000), -2, np.float32))
    argv = _relabel_argv(str(copy), tmp_path / "out", "--splits", "validation")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "VGG16.npy: row 0" in err and "--from-logits" in err


def test_missing_model_file_is_named(predictions, tmp_path, capsys):
    argv = _relabel_argv(predictions, tmp_path, "--models", *upstream.ANNOTATOR_MODELS[:15], "Mine")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("imagenet-pi relabel: error:") and "Mine.npy" in err


def test_models_flag_needs_sixteen_names(predictions, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(_relabel_argv(predictions, tmp_path, "--models", "VGG16"))
    assert "--models" in capsys.readouterr().err


def test_non_positive_beta_is_an_error(predictions, tmp_path, capsys):
    argv = _relabel_argv(predictions, tmp_path)
    argv[argv.index("--beta") + 1] = "0"
    with pytest.raises(SystemExit) as exit_info:  # a usage error, before anything runs
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "argument --beta: expected a finite number > 0, found '0'" in capsys.readouterr().err


def test_one_split_warns_that_the_builder_needs_both(predictions, tmp_path, capsys):
    assert cli.main(_relabel_argv(predictions, tmp_path, "--splits", "validation")) == 0
    assert "The builder needs every split" in capsys.readouterr().out
    assert not (tmp_path / "labels" / "train.csv").exists()


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
    names = relabel_files.read_file_names(split_dir).tolist()
    assert sorted(names) == sorted(sample.validation_file_names)
    probabilities = np.load(split_dir / "MobileNetV3Small.npy")
    assert probabilities.shape == (len(names), upstream.NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-3)
    clean_of = dict(zip(sample.validation_file_names, sample.validation_clean_labels.tolist()))
    clean = np.load(split_dir / relabel_files.CLEAN_LABELS_FILE)
    assert clean.tolist() == [clean_of[name] for name in names]


def test_predict_command_on_an_unbuilt_dataset_says_to_build_it(tmp_path, capsys):
    argv = ["predict", "--split", "train", "--out", str(tmp_path / "p")]
    argv += ["--dataset", "imagenet_pi/low_noise", "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 1
    assert "not built" in capsys.readouterr().err
