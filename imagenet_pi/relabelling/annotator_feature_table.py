"""The annotator feature table: how accurate and how large each annotator model is.

Upstream's `annotator_features.csv` gives each annotator (CSV column) two numbers: its
z-scored top-1 accuracy and its z-scored log parameter count. This module measures the
accuracies from predictions and makes the table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from imagenet_pi import upstream
from imagenet_pi.relabelling import predictions_folder
from imagenet_pi.relabelling.errors import InvalidPredictionsError

# Rows of predictions read at a time: bounds memory, not the result.
_ACCURACY_CHUNK_ROWS = 65_536


def top1_accuracies(
    predictions: Sequence[str | os.PathLike | np.ndarray],
    clean_labels: np.ndarray,
    *,
    chunk_size: int = _ACCURACY_CHUNK_ROWS,
) -> np.ndarray:
    """Top-1 accuracy of each annotator's argmax against the clean labels.

    Args:
      predictions: one `(N, C)` array or `.npy` path per annotator (probabilities or logits).
      clean_labels: `(N,)` integer class indices.

    Returns:
      `(num_annotators,) float64` accuracies in [0, 1].
    """
    clean_labels = np.asarray(clean_labels)
    if clean_labels.ndim != 1 or len(clean_labels) == 0:
        raise ValueError(
            f"clean_labels: expected shape (N,) with N > 0, found {clean_labels.shape}"
        )
    accuracies = []
    for index, source in enumerate(predictions):
        name, values = predictions_folder.open_predictions(source, index)
        if len(values) != len(clean_labels):
            raise InvalidPredictionsError(
                f"{name}: expected {len(clean_labels)} rows (one per clean label), "
                f"found {len(values)}"
            )
        correct = 0
        for start in range(0, len(values), chunk_size):
            top1 = np.argmax(values[start : start + chunk_size], axis=1)
            correct += int(np.count_nonzero(top1 == clean_labels[start : start + chunk_size]))
        accuracies.append(correct / len(values))
    return np.array(accuracies, np.float64)


def _z_score(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    if spread == 0:
        return np.zeros_like(values)
    return (values - values.mean()) / spread


def annotator_features_from_accuracy(
    accuracies: Sequence[float] | np.ndarray, parameter_counts: Sequence[float] | np.ndarray
) -> np.ndarray:
    """The annotator feature table of upstream's `annotator_features.csv`.

    Row `a`: (z-scored accuracy, z-scored log parameter count) of annotator `a`, z-scored over
    the annotators (population standard deviation; a constant column gives zeros).

    Args:
      accuracies: `(A,)` top-1 accuracies in [0, 1].
      parameter_counts: `(A,)` parameter counts > 0.

    Returns:
      `(A, 2) float32`.
    """
    accuracies = np.asarray(accuracies, np.float64)
    parameter_counts = np.asarray(parameter_counts, np.float64)
    if accuracies.ndim != 1 or accuracies.shape != parameter_counts.shape:
        raise ValueError(
            f"accuracies and parameter_counts: expected two (A,) arrays of one length, "
            f"found {accuracies.shape} and {parameter_counts.shape}"
        )
    if not np.all((accuracies >= 0) & (accuracies <= 1)):
        raise ValueError(f"accuracies: expected values in [0, 1], found {accuracies}")
    if not np.all(np.isfinite(parameter_counts) & (parameter_counts > 0)):
        raise ValueError(f"parameter_counts: expected finite values > 0, found {parameter_counts}")
    features = np.stack([_z_score(accuracies), _z_score(np.log(parameter_counts))], axis=1)
    return features.astype(np.float32)


def check_annotator_features(annotator_features: np.ndarray) -> np.ndarray:
    """`(16, 2) float32` annotator features; raises ValueError for another shape or NaN/inf."""
    annotator_features = np.asarray(annotator_features, np.float32)
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if annotator_features.shape != expected_shape:
        raise ValueError(
            f"annotator_features: expected shape {expected_shape} (an ImageNet-PI config has "
            f"{upstream.NUM_ANNOTATORS} annotators), found {annotator_features.shape}"
        )
    if not np.all(np.isfinite(annotator_features)):
        raise ValueError("annotator_features: expected finite numbers, found NaN or inf")
    return annotator_features


def from_predictions_folder(split_dir: str | os.PathLike, models: Sequence[str]) -> np.ndarray:
    """`(A, 2) float32` features of `models` from a predictions folder of one split.

    Accuracy is measured against `clean_labels.npy`; parameter counts come from
    `parameter_counts.json` (see `predictions_folder`). Every file is checked before any
    prediction is read.
    """
    folder = predictions_folder.open_split(split_dir, models)
    clean_labels = predictions_folder.read_clean_labels(split_dir, len(folder.file_names))
    parameter_counts = predictions_folder.read_parameter_counts(split_dir, models)
    accuracies = top1_accuracies(folder.paths, clean_labels)
    return annotator_features_from_accuracy(accuracies, parameter_counts)
