"""Annotator labels whose noise report is known, for the tests of computing and rendering it."""

from __future__ import annotations

import numpy as np

from imagenet_pi import stats

NUM_ANNOTATORS = 4
NUM_EXAMPLES = 100


def known_labels() -> stats.SplitLabels:
    """Annotator a agrees with the clean label on the first 20 * (a + 1) rows.

    Otherwise it gives clean + 1 (a structured confusion), with confidence 0.1; agreeing
    labels have confidence 0.9. Clean labels cycle over classes 0..9.
    """
    clean = np.arange(NUM_EXAMPLES) % 10
    labels = np.empty((NUM_EXAMPLES, NUM_ANNOTATORS), np.int16)
    for annotator in range(NUM_ANNOTATORS):
        agree = np.arange(NUM_EXAMPLES) < 20 * (annotator + 1)
        labels[:, annotator] = np.where(agree, clean, clean + 1)
    confidences = np.where(labels == clean[:, None], 0.9, 0.1).astype(np.float32)
    return stats.SplitLabels(clean, labels, confidences)


def label_source(labels: stats.SplitLabels, config: str = "high_noise") -> stats.LabelSource:
    """`labels` as the train split of `config` (beta 0.1)."""
    return stats.LabelSource("test", config, 0.1, {"train": labels})
