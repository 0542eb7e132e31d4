"""Config folders from predictions: written in the upstream layout, read back as written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from relabel_inputs import softmax, validation_file_names
from scipy import stats

from imagenet_pi import annotations, upstream
from imagenet_pi.relabelling import (
    annotator_feature_table,
    parallel_sampling,
    predictions_folder,
    relabelled_configs,
    temperature_sampling,
)

MODELS = upstream.ANNOTATOR_MODELS


@pytest.fixture
def sixteen_annotators() -> list[np.ndarray]:
    """A whole annotator panel over 300 images and 1000 classes, float32 probabilities."""
    num_examples = 300
    clean_labels = np.random.default_rng(0).integers(0, upstream.NUM_CLASSES, num_examples)
    predictions = []
    for annotator in range(upstream.NUM_ANNOTATORS):
        rng = np.random.default_rng(100 + annotator)
        logits = rng.normal(0.0, 1.0, size=(num_examples, upstream.NUM_CLASSES))
        # Annotator a puts more mass on the clean class the larger a is.
        logits[np.arange(num_examples), clean_labels] += 2.0 + 0.15 * annotator
        predictions.append(softmax(logits).astype(np.float32))
    return [clean_labels, *predictions]


def test_relabelled_config_reads_back_as_written(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    file_names = validation_file_names(len(predictions[0]))
    labels, confidences = parallel_sampling.relabel_split(predictions, file_names, 0.2, 5)
    features = annotator_feature_table.annotator_features_from_accuracy(
        np.linspace(0.6, 0.8, 16), np.geomspace(3e6, 1.4e8, 16)
    )
    relabelled_configs.write_relabelled_config(
        tmp_path / "my_noise", {"validation": (file_names, labels, confidences)}, features
    )
    split = annotations.read_split(tmp_path / "my_noise", "validation")
    assert split.file_names.tolist() == file_names
    np.testing.assert_array_equal(split.labels, labels)
    np.testing.assert_array_equal(split.confidences, confidences)
    np.testing.assert_array_equal(
        annotations.read_annotator_features(tmp_path / "my_noise"), features
    )


def test_relabelled_config_needs_sixteen_annotators(tmp_path, split_predictions):
    file_names = validation_file_names(len(split_predictions[0]))
    labels, confidences = parallel_sampling.relabel_split(split_predictions, file_names, 0.2, 5)
    with pytest.raises(ValueError, match=r"expected labels of shape \(N, 16\)"):
        relabelled_configs.write_relabelled_config(
            tmp_path, {"train": (file_names, labels, confidences)}, np.zeros((16, 2))
        )
    with pytest.raises(ValueError, match=r"annotator_features: expected shape \(16, 2\)"):
        relabelled_configs.write_relabelled_config(
            tmp_path, {"train": (file_names, labels, confidences)}, np.zeros((3, 2))
        )


def _write_predictions_dir(root, split, predictions, *, clean_labels=None):
    split_dir = root / split
    split_dir.mkdir(parents=True)
    file_names = validation_file_names(len(predictions[0]))
    (split_dir / predictions_folder.FILE_NAMES_FILE).write_text("\n".join(file_names) + "\n")
    for model, probs in zip(MODELS, predictions, strict=True):
        np.save(predictions_folder.predictions_path(split_dir, model), probs)
    if clean_labels is not None:
        np.save(split_dir / predictions_folder.CLEAN_LABELS_FILE, clean_labels)
        # Parameter counts fall with the annotator index, accuracies rise.
        counts = {model: 2.0 ** (40 - i) for i, model in enumerate(MODELS)}
        (split_dir / predictions_folder.PARAMETER_COUNTS_FILE).write_text(json.dumps(counts))
    return file_names


def test_relabel_config_from_predictions_dir(tmp_path, sixteen_annotators):
    clean_labels, *predictions = sixteen_annotators
    for split in ("train", "validation"):
        file_names = _write_predictions_dir(
            tmp_path / "predictions", split, predictions, clean_labels=clean_labels
        )
    relabelled_configs.relabel_config(tmp_path / "predictions", tmp_path / "out", beta=0.5, seed=5)
    for split in ("train", "validation"):
        written = annotations.read_split(tmp_path / "out", split)
        expected = parallel_sampling.relabel_split(
            predictions, file_names, 0.5, temperature_sampling.split_seed(5, split)
        )
        assert written.file_names.tolist() == file_names
        np.testing.assert_array_equal(written.labels, expected[0])
        np.testing.assert_array_equal(written.confidences, expected[1])
    train = annotations.read_split(tmp_path / "out", "train")
    validation = annotations.read_split(tmp_path / "out", "validation")
    assert np.mean(train.labels != validation.labels) > 0.1  # independent draws per split
    features = annotations.read_annotator_features(tmp_path / "out")
    accuracies = [np.mean(p.argmax(axis=1) == clean_labels) for p in predictions]
    np.testing.assert_allclose(features[:, 0], stats.zscore(accuracies), atol=1e-6)
    np.testing.assert_allclose(features[:, 1], -np.linspace(-1.62698, 1.62698, 16), atol=1e-4)


def test_relabel_config_without_clean_labels_needs_features(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    _write_predictions_dir(tmp_path / "predictions", "validation", predictions)
    with pytest.raises(FileNotFoundError, match="clean_labels.npy.*annotator features"):
        relabelled_configs.relabel_config(
            tmp_path / "predictions", tmp_path / "out", 0.2, 5, splits=["validation"]
        )
    assert not (tmp_path / "out").exists()
    features = np.arange(32, dtype=np.float32).reshape(16, 2)
    relabelled_configs.relabel_config(
        tmp_path / "predictions",
        tmp_path / "out",
        0.2,
        5,
        splits=["validation"],
        annotator_features=features,
    )
    np.testing.assert_array_equal(annotations.read_annotator_features(tmp_path / "out"), features)


def test_relabel_config_names_missing_model_file(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    _write_predictions_dir(tmp_path / "predictions", "train", predictions)
    (tmp_path / "predictions" / "train" / "VGG19.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"train: .*missing \['VGG19\.npy'\]"):
        relabelled_configs.relabel_config(
            tmp_path / "predictions",
            tmp_path / "out",
            0.2,
            5,
            splits=["train"],
            annotator_features=np.zeros((16, 2)),
        )


def test_relabel_config_needs_sixteen_models(tmp_path):
    with pytest.raises(ValueError, match="expected 16 annotator model names"):
        relabelled_configs.relabel_config(tmp_path, tmp_path / "out", 0.2, 5, models=["MobileNet"])
