"""Batches of annotations -> training labels and the `pi_features` dict models read.

`pi_features` follows how research code consumes ImageNet-PI: one float32 array
per kind of privileged information, shaped `(batch, num_annotators, k)`, where
`num_annotators` is the number of annotators the label policy kept:

- `annotator_ids`: `(B, A, 16)` one-hot of the annotator (CSV column) index. A
  padded annotator (id -1) would get an all-zero row; ImageNet-PI gives every
  image all 16 annotators, so no policy here pads.
- `annotator_labels`: `(B, A, 1000)` one-hot of the annotator's label
  (`labels_format="one_hot"`), or `(B, A, 1)` the class index as a float
  (`labels_format="index"`).
- `annotator_confidences`: `(B, A, 1)` the annotator's confidence in its label.
- `annotator_features`: `(B, A, 2)` normalised accuracy and log parameter count.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from imagenet_pi import label_policies, upstream

LabelsFormat = Literal["one_hot", "index"]


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    """`indices.shape + (depth,) float32`; an index outside 0..depth-1 (e.g. -1) gives zeros."""
    indices = np.asarray(indices)
    return (indices[..., None] == np.arange(depth, dtype=indices.dtype)).astype(np.float32)


def pi_features(
    annotators: np.ndarray,
    annotator_labels: np.ndarray,
    annotator_confidences: np.ndarray,
    annotator_features: np.ndarray,
    labels_format: LabelsFormat = "one_hot",
) -> dict[str, np.ndarray]:
    """The PI of the chosen annotators of each example.

    Args:
      annotators: `(B, A) int` chosen annotator indices (see `label_policies`).
      annotator_labels: `(B, 16) int` labels of all annotators.
      annotator_confidences: `(B, 16) float32`.
      annotator_features: `(B, 16, 2) float32`, or `(16, 2)` shared by all examples.
      labels_format: "one_hot" or "index", see the module docstring.

    Returns:
      The four float32 arrays described in the module docstring.
    """
    annotators = np.asarray(annotators)
    batch_size = annotators.shape[0]
    features = np.asarray(annotator_features, np.float32)
    if features.ndim == 2:
        features = np.broadcast_to(features, (batch_size, *features.shape))
    labels = np.take_along_axis(np.asarray(annotator_labels), annotators, axis=1)
    if labels_format == "one_hot":
        labels = one_hot(labels, upstream.NUM_CLASSES)
    elif labels_format == "index":
        labels = labels[..., None].astype(np.float32)
    else:
        raise ValueError(f"annotator_labels_format must be one_hot or index, got {labels_format!r}")
    confidences = np.take_along_axis(np.asarray(annotator_confidences), annotators, axis=1)
    return {
        "annotator_ids": one_hot(annotators, upstream.NUM_ANNOTATORS),
        "annotator_labels": labels,
        "annotator_confidences": confidences[..., None].astype(np.float32),
        "annotator_features": np.take_along_axis(features, annotators[..., None], axis=1),
    }


def label_and_pi(
    batch: dict[str, np.ndarray],
    policy: label_policies.LabelPolicy,
    labels_format: LabelsFormat = "one_hot",
) -> dict[str, np.ndarray | dict[str, np.ndarray]]:
    """Replaces the raw annotations of a batch by `label` and `pi_features`.

    Args:
      batch: numpy arrays `file_name (B,) bytes`, `clean_label (B,) int`,
        `annotator_labels (B, 16) int`, `annotator_confidences (B, 16) float32`,
        `annotator_features (B, 16, 2) float32`, optionally `epoch (B,) int` (how
        many times each example was seen before; 0 if absent), and anything else
        (kept as is).
      policy: chooses annotators and labels.
      labels_format: format of `pi_features["annotator_labels"]`.

    Returns:
      The batch with `label` (int32), `clean_label` (int32) and `pi_features`
      instead of the three `annotator_*` arrays and `epoch`.
    """
    out = dict(batch)
    annotator_labels = out.pop("annotator_labels")
    confidences = out.pop("annotator_confidences")
    features = out.pop("annotator_features")
    clean_label = np.asarray(out["clean_label"]).astype(np.int32)
    keys = label_policies.example_keys(out["file_name"])
    epochs = np.asarray(out.pop("epoch", np.zeros(len(clean_label), np.int64)))
    selection = policy.select(annotator_labels, clean_label, keys, epochs)
    out["clean_label"] = clean_label
    out["label"] = selection.label
    out["pi_features"] = pi_features(
        selection.annotators, annotator_labels, confidences, features, labels_format
    )
    return out
