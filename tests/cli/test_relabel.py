"""`imagenet-pi relabel`, run in-process through `cli.main`: what it writes and prints, and
what it refuses."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil

import numpy as np
import pytest

from imagenet_pi import annotations, cli, custom_configs, fake_data, relabel, upstream
from imagenet_pi.relabelling import parallel_sampling, predictions_folder, relabel_metadata

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
        (split_dir / predictions_folder.FILE_NAMES_FILE).write_text(
            "".join(f"{n}\n" for n in names)
        )
        for annotator, model in enumerate(upstream.ANNOTATOR_MODELS):
            probs = fake_data.annotator_probabilities(clean, annotator, 1, upstream.NUM_ANNOTATORS)
            np.save(predictions_folder.predictions_path(split_dir, model), probs.astype(np.float32))
        np.save(split_dir / predictions_folder.CLEAN_LABELS_FILE, clean.astype(np.int16))
        counts = {m: 1e6 * (i + 1) for i, m in enumerate(upstream.ANNOTATOR_MODELS)}
        (split_dir / predictions_folder.PARAMETER_COUNTS_FILE).write_text(json.dumps(counts))
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
        paths = [
            predictions_folder.predictions_path(split_dir, m) for m in upstream.ANNOTATOR_MODELS
        ]
        names = predictions_folder.read_file_names(split_dir)
        labels, confidences = parallel_sampling.relabel_split(
            paths, names, 0.25, relabel.split_seed(4, split)
        )
        written = annotations.read_split(tmp_path / "out", split)
        order = np.argsort(names.astype(str))
        np.testing.assert_array_equal(written.labels, labels[order])
        np.testing.assert_allclose(written.confidences, confidences[order], rtol=1e-6)


def test_relabel_command_records_its_parameters(predictions, tmp_path):
    assert cli.main(_relabel_argv(predictions, tmp_path)) == 0
    metadata = relabel_metadata.read_metadata(tmp_path)
    assert (metadata["beta"], metadata["seed"], metadata["from_logits"]) == (0.25, 4, False)
    assert metadata["models"] == list(upstream.ANNOTATOR_MODELS)


def _printed_config(out: str) -> dict:
    command = next(line for line in out.splitlines() if "tfds build" in line)
    return json.loads(shlex.split(command)[shlex.split(command).index("--config") + 1])


def test_relabel_command_prints_a_working_tfds_build_config(predictions, tmp_path, capsys):
    assert cli.main(_relabel_argv(predictions, tmp_path)) == 0
    out = capsys.readouterr().out
    name = custom_configs.custom_config(tmp_path).name
    assert re.fullmatch(r"beta_0\.25_seed4_[0-9a-f]{8}", name)
    assert _printed_config(out) == {"name": name, "beta": 0.25, "annotations_dir": str(tmp_path)}
    assert f"tfds.load('imagenet_pi/{name}'" in out


def _printed_name(argv: list[str], capsys) -> str:
    assert cli.main(argv) == 0
    return _printed_config(capsys.readouterr().out)["name"]


def test_relabel_names_differ_for_other_seeds(predictions, tmp_path, capsys):
    first = _printed_name(_relabel_argv(predictions, tmp_path / "a"), capsys)
    argv = _relabel_argv(predictions, tmp_path / "b")
    argv[argv.index("--seed") + 1] = "5"
    second = _printed_name(argv, capsys)
    assert first.startswith("beta_0.25_seed4_") and second.startswith("beta_0.25_seed5_")
    assert first != second


def test_relabel_names_differ_for_other_predictions(predictions, tmp_path, capsys):
    copy = shutil.copytree(predictions, tmp_path / "p")
    for split in upstream.SPLITS:  # the same models, seeing the images in another way
        path = predictions_folder.predictions_path(copy / split, "VGG16")
        np.save(path, np.load(path)[:, ::-1].copy())
    first = _printed_name(_relabel_argv(predictions, tmp_path / "a"), capsys)
    second = _printed_name(_relabel_argv(str(copy), tmp_path / "b"), capsys)
    assert first != second and second.startswith("beta_0.25_seed4_")


def test_relabel_name_is_the_same_for_the_same_draws(predictions, tmp_path, capsys):
    first = _printed_name(_relabel_argv(predictions, tmp_path / "a"), capsys)
    assert _printed_name(_relabel_argv(predictions, tmp_path / "b"), capsys) == first


@pytest.mark.parametrize("beta", ["1e20", "1e300"])
def test_relabel_at_a_beta_printed_with_an_exponent_prints_a_name_tfds_can_load(
    predictions, tmp_path, capsys, beta
):
    # f"{1e20:g}" is "1e+20": a '+' that no config name may hold.
    argv = _relabel_argv(predictions, tmp_path / "out")
    argv[argv.index("--beta") + 1] = beta
    name = _printed_name(argv, capsys)
    assert custom_configs.CONFIG_NAME_PATTERN.fullmatch(name), name
    assert name == custom_configs.custom_config(tmp_path / "out").name


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
            path = predictions_folder.predictions_path(logits_dir / split, model)
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


# Refusals: each names the file, and nothing is written.


def _copy(predictions: str, tmp_path) -> object:
    return shutil.copytree(predictions, tmp_path / "p")


def _refused(argv: list[str], capsys, out) -> str:
    """Runs the command, checks it refused with one error line and wrote nothing; the line."""
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imagenet-pi relabel: error: "), err
    assert not os.path.exists(out)
    return lines[0]


def _probabilities(rows: int, classes: int) -> np.ndarray:
    return np.full((rows, classes), 1 / classes, np.float32)


@pytest.mark.parametrize("classes", [10, 999, 1001, 2000])
def test_predictions_of_another_class_count_are_refused_naming_file_and_shape(
    predictions, tmp_path, capsys, classes
):
    copy = _copy(predictions, tmp_path)
    for split, rows in (("train", NUM_TRAIN), ("validation", NUM_VALIDATION)):
        for model in upstream.ANNOTATOR_MODELS:
            path = predictions_folder.predictions_path(copy / split, model)
            np.save(path, _probabilities(rows, classes))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "ResNet50V2.npy: expected predictions over the 1000 ILSVRC2012 classes" in error
    assert f"found shape ({NUM_TRAIN}, {classes})" in error


def test_1001_classes_get_the_background_column_hint(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    np.save(copy / "validation" / "VGG19.npy", _probabilities(NUM_VALIDATION, 1001))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "validation/VGG19.npy" in error and "background class at column 0" in error


def test_a_split_of_ten_classes_is_refused_though_the_other_is_right(predictions, tmp_path, capsys):
    # The train split is fine; validation has 10 classes: nothing is relabelled or written.
    copy = _copy(predictions, tmp_path)
    for model in upstream.ANNOTATOR_MODELS:
        np.save(copy / "validation" / f"{model}.npy", _probabilities(NUM_VALIDATION, 10))
    annotations.write_annotator_features(tmp_path / "given", np.zeros((16, 2), np.float32))
    argv = _relabel_argv(str(copy), tmp_path / "out", "--annotator-features", tmp_path / "given")
    error = _refused(argv, capsys, tmp_path / "out")
    assert "validation/ResNet50V2.npy" in error and f"({NUM_VALIDATION}, 10)" in error


def test_blank_line_in_file_names_is_blamed_on_file_names_txt(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    names_path = copy / "train" / predictions_folder.FILE_NAMES_FILE
    lines = names_path.read_text().splitlines(keepends=True)
    names_path.write_text("".join([*lines[:3], "\n", *lines[3:]]))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "train/file_names.txt, line 4: expected an image file name, found an empty line" in error
    assert ".npy" not in error.split("found an empty line")[0]


def test_one_name_too_many_is_blamed_on_file_names_txt(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    with open(copy / "train" / predictions_folder.FILE_NAMES_FILE, "a") as f:
        f.write("n01440764_999.JPEG\n")
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert f"train/file_names.txt: holds {NUM_TRAIN + 1} file names" in error
    assert f"every <Model>.npy holds {NUM_TRAIN} rows" in error


def test_duplicate_file_names_are_refused_naming_both_lines(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    names_path = copy / "validation" / predictions_folder.FILE_NAMES_FILE
    lines = names_path.read_text().splitlines()
    lines[7] = lines[2]
    names_path.write_text("".join(f"{line}\n" for line in lines))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    names = "validation/file_names.txt: file name"
    assert f"{names} {lines[2]!r} appears twice, on lines 3 and 8" in error


def test_latin1_file_name_is_refused_naming_the_line(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    names_path = copy / "train" / predictions_folder.FILE_NAMES_FILE
    lines = names_path.read_bytes().splitlines(keepends=True)
    lines[1] = "caf\xe9.JPEG\n".encode("latin-1")
    names_path.write_bytes(b"".join(lines))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "train/file_names.txt, line 2: the file name b'caf\\xe9.JPEG' is not UTF-8" in error


def test_short_clean_labels_are_blamed_on_clean_labels_npy(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    clean_path = copy / "validation" / predictions_folder.CLEAN_LABELS_FILE
    np.save(clean_path, np.load(clean_path)[:-1])
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert f"validation/clean_labels.npy: expected {NUM_VALIDATION} clean labels" in error
    assert f"found {NUM_VALIDATION - 1}" in error and "<Model>.npy" not in error


@pytest.mark.parametrize(
    "labels, found",
    [
        (np.full(NUM_VALIDATION, 1000), "found 1000"),
        (np.zeros(NUM_VALIDATION, float), "dtype float64"),
    ],
)
def test_clean_labels_out_of_the_classes_are_refused(predictions, tmp_path, capsys, labels, found):
    copy = _copy(predictions, tmp_path)
    np.save(copy / "validation" / predictions_folder.CLEAN_LABELS_FILE, labels)
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "validation/clean_labels.npy" in error and found in error


@pytest.mark.parametrize("count", ["many", -3, 0, None, True, float("nan")])
def test_bad_parameter_count_names_the_file_and_the_model(predictions, tmp_path, capsys, count):
    copy = _copy(predictions, tmp_path)
    counts_path = copy / "validation" / predictions_folder.PARAMETER_COUNTS_FILE
    counts = json.loads(counts_path.read_text())
    counts["DenseNet169"] = count
    counts_path.write_text(json.dumps(counts))
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "validation/parameter_counts.json: DenseNet169: expected a parameter count" in error


@pytest.mark.parametrize("text", ['{"VGG16": 1', "[1, 2]", b'{"VGG16\xe9": 1}'])
def test_unreadable_parameter_counts_name_the_file(predictions, tmp_path, capsys, text):
    copy = _copy(predictions, tmp_path)
    counts_path = copy / "validation" / predictions_folder.PARAMETER_COUNTS_FILE
    counts_path.write_bytes(text if isinstance(text, bytes) else text.encode())
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "validation/parameter_counts.json: " in error and "expected {model name" in error


@pytest.mark.parametrize(
    "content, found",
    [
        (b"", "it is empty"),
        ("truncated", "could not read it"),
        (b"0.1,0.9\n", "it starts with b'0.1,0.9"),
        (np.ones(NUM_TRAIN, np.float32), f"found shape ({NUM_TRAIN},)"),
        (np.ones((NUM_TRAIN, 1000, 2), np.float32), f"found shape ({NUM_TRAIN}, 1000, 2)"),
        (np.ones((NUM_TRAIN, 1000), np.int32), "found dtype int32"),
    ],
)
def test_a_npy_that_is_not_predictions_is_named(predictions, tmp_path, capsys, content, found):
    copy = _copy(predictions, tmp_path)
    path = copy / "train" / "DenseNet121.npy"
    if isinstance(content, str):  # the header and a few rows of the right file
        path.write_bytes(path.read_bytes()[:5000])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert f"{path}: expected" in error and found in error


def test_a_missing_split_folder_is_named(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    shutil.rmtree(copy / "train")
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert f"{copy / 'train'}: expected the predictions folder of split 'train'" in error
    assert "--splits" in error


def test_an_empty_clean_labels_file_is_named(predictions, tmp_path, capsys):
    copy = _copy(predictions, tmp_path)
    (copy / "validation" / predictions_folder.CLEAN_LABELS_FILE).write_bytes(b"")
    error = _refused(_relabel_argv(str(copy), tmp_path / "out"), capsys, tmp_path / "out")
    assert "validation/clean_labels.npy: expected a .npy file of the clean labels" in error
