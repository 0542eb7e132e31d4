"""Synthetic examples with the labels of 16 annotators, drawn by the real relabelling process,
for the tests of label policies and PI features."""

from __future__ import annotations

import functools

import numpy as np

from imagenet_pi import fake_data, label_policies, upstream
from imagenet_pi.relabelling import annotator_feature_table

NUM_EXAMPLES = 4000
ACCURACY = fake_data.synthetic_annotator_accuracies()


@functools.cache  # a few seconds: once a process; callers only read the arrays
def annotated() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic clean labels, 16 annotator labels (real relabelling process) and keys."""
    rng = np.random.default_rng(0)
    clean = rng.integers(0, upstream.NUM_CLASSES, size=NUM_EXAMPLES)
    labels, confidences = fake_data.fake_annotations(clean, beta=0.5, seed=1)
    names = [f"n{i:08d}_{i}.JPEG" for i in range(NUM_EXAMPLES)]
    return clean, labels.astype(np.int64), confidences, label_policies.example_keys(names)


def annotator_features() -> np.ndarray:
    """The `(16, 2) float32` annotator features of the synthetic annotators."""
    return annotator_feature_table.annotator_features_from_accuracy(
        ACCURACY, fake_data.annotator_parameter_counts()
    ).astype(np.float32)
