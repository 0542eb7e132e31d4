"""How noisy is a build? Agreement, confidences, confusions and noise transitions, with plots.

Works on a built config (TFRecord or array_record, read without decoding the images) or on
PI CSVs alone (clean labels then come from the file names: a train image's synset, or the
official validation ground truth). Everything is computed from arrays in a few vectorised
passes: the label transition counts of a split are one `np.bincount` of
`clean * 1000 + annotator label`.

`report(...)` gives a JSON-able dict; `stats_rendering` renders it (text, plots, Markdown,
JSON), never the arrays.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import tqdm

from imagenet_pi import annotations, label_policies, synsets, upstream
from imagenet_pi.relabelling import relabel_metadata

CONFIDENCE_BINS = 20
TOP_CONFUSIONS = 10
HEATMAP_CLASSES = 20
# Wrong labels per class counted in the share of its noise they take.
TOP_WRONG_LABELS = 5


@dataclasses.dataclass(frozen=True)
class SplitLabels:
    """The labels of one split.

    Attributes:
      clean_labels: `(N,) int64` ILSVRC2012 class indices.
      annotator_labels: `(N, A) int` class indices given by the A annotators.
      annotator_confidences: `(N, A) float32` each annotator's probability of its label.
    """

    clean_labels: np.ndarray
    annotator_labels: np.ndarray
    annotator_confidences: np.ndarray

    def __post_init__(self) -> None:
        num = len(self.clean_labels)
        if self.clean_labels.ndim != 1 or self.annotator_labels.ndim != 2:
            raise ValueError(
                f"expected clean labels (N,) and annotator labels (N, A), found "
                f"{self.clean_labels.shape} and {self.annotator_labels.shape}"
            )
        if self.annotator_labels.shape[0] != num or (
            self.annotator_confidences.shape != self.annotator_labels.shape
        ):
            raise ValueError(
                f"expected {num} rows of annotator labels and confidences of one shape, found "
                f"{self.annotator_labels.shape} and {self.annotator_confidences.shape}"
            )


@dataclasses.dataclass(frozen=True)
class LabelSource:
    """Labels of some splits, and what they are."""

    description: str  # where they were read from
    config: str | None  # config name, e.g. "high_noise"
    beta: float | None
    splits: dict[str, SplitLabels]
    # Model of each column when known (relabel.json); upstream does not say for its releases.
    annotator_models: tuple[str, ...] | None = None


def _config_name_of_dir(annotations_dir: pathlib.Path) -> str:
    name = annotations_dir.resolve().name
    legacy = {level.legacy_name: level.name for level in upstream.NOISE_LEVELS.values()}
    return legacy.get(name, name)


def from_annotations_dir(
    annotations_dir: str | os.PathLike, splits: Sequence[str] = upstream.SPLITS
) -> LabelSource:
    """Labels of a config folder in the upstream layout (`labels/`, `confidences/`)."""
    annotations_dir = pathlib.Path(annotations_dir)
    expected = (
        f"{annotations_dir}: expected a folder holding labels/<split>.csv and "
        "confidences/<split>.csv (a config of the upstream repository, or the output of "
        "`imagenet-pi relabel`)"
    )
    if not annotations_dir.is_dir():
        raise FileNotFoundError(f"{expected}, not found")
    if not any((annotations_dir / kind).exists() for kind in ("labels", "confidences")):
        # A clone's root, or a folder of relabelled configs: name the config folders in it.
        configs = sorted(
            str(child)
            for child in annotations_dir.iterdir()
            if (child / "labels").is_dir() and (child / "confidences").is_dir()
        )
        found = (
            f"; it holds config folders: pass one of {', '.join(configs)}"
            if configs
            else ", found neither labels/ nor confidences/ in it"
        )
        raise FileNotFoundError(expected + found)
    result = {}
    for split in splits:
        split_annotations = annotations.read_split(annotations_dir, split)
        csv = annotations_dir / upstream.csv_relpath("labels", split)
        try:
            clean = synsets.clean_class_indices(split, split_annotations.file_names)
        except ValueError as error:
            raise ValueError(
                f"{csv}: cannot find the clean labels from the file names: {error} "
                "Use a built dataset instead (--dataset, --data-dir)."
            ) from error
        result[split] = SplitLabels(clean, split_annotations.labels, split_annotations.confidences)
    metadata = relabel_metadata.read_metadata(annotations_dir) or {}
    config = _config_name_of_dir(annotations_dir)
    beta = metadata.get("beta")
    if beta is None and config in upstream.NOISE_LEVELS:
        beta = upstream.NOISE_LEVELS[config].beta
    models = metadata.get("models")
    return LabelSource(str(annotations_dir), config, beta, result, models and tuple(models))


def from_built_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    splits: Sequence[str] = upstream.SPLITS,
    *,
    progress: bool = False,
) -> LabelSource:
    """Labels of a built config, e.g. `imagenet_pi/high_noise`, read without the images.

    Reads a TFRecord or an array_record build.

    Raises:
      FileNotFoundError: `name` is not built in `data_dir`.
      DamagedBuildError: a shard of the build is missing or damaged (names it).
    """
    from imagenet_pi import built_datasets

    builder = built_datasets.open_built(name, data_dir)
    columns = ("clean_label", "annotator_labels", "annotator_confidences")
    missing = [column for column in columns if column not in builder.info.features]
    if missing:
        raise ValueError(
            f"{name} at {builder.data_dir} has no {missing} features: it was not built by this "
            "package (`tfds build imagenet_pi/<config> --imports imagenet_pi`)"
        )
    result = {}
    for split in splits:
        if split not in builder.info.splits:
            raise ValueError(
                f"{name} at {builder.data_dir}: expected a split {split!r}, found "
                f"{sorted(builder.info.splits)}"
            )
        parts: dict[str, list[np.ndarray]] = {column: [] for column in columns}
        total = builder.info.splits[split].num_examples
        with tqdm.tqdm(total=total, unit="example", desc=split, disable=not progress) as bar:
            for batch in built_datasets.read_columns(builder, split, columns):
                for column in columns:
                    parts[column].append(batch[column])
                bar.update(len(batch["clean_label"]))
        result[split] = SplitLabels(
            *(
                np.concatenate(parts[column]) if parts[column] else _empty(builder, column)
                for column in columns
            )
        )
    beta = builder.info.metadata.get("beta") if builder.info.metadata else None
    return LabelSource(str(builder.data_dir), builder.info.config_name or None, beta, result)


def _empty(builder, column: str) -> np.ndarray:
    shape = builder.info.features[column].shape
    return np.zeros((0, *shape), builder.info.features[column].np_dtype)


def _class_entry(index: int) -> dict[str, Any]:
    names = synsets.class_names()
    return {
        "index": int(index),
        "synset": synsets.synsets()[index],
        "name": names[index] if names else None,
    }


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of `(R, C)` counts (0 for an empty row)."""
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * np.log2(probs), 0.0)
    return -terms.sum(axis=1)


def transition_counts(clean_labels: np.ndarray, annotator_labels: np.ndarray) -> np.ndarray:
    """Counts of (clean class, annotator label) pairs over all annotators.

    Returns:
      `(1000, 1000) int64`: row = clean class, column = annotator label.
    """
    num_classes = upstream.NUM_CLASSES
    codes = clean_labels.astype(np.int64)[:, None] * num_classes + annotator_labels
    counts = np.bincount(codes.reshape(-1), minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _confidence_summary(confidences: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    bins = np.minimum((confidences * CONFIDENCE_BINS).astype(np.int16), CONFIDENCE_BINS - 1)
    bins *= 2
    bins += correct  # one bincount gives the (bin, correct) counts
    histogram = np.bincount(bins.reshape(-1), minlength=2 * CONFIDENCE_BINS)
    histogram = histogram.reshape(CONFIDENCE_BINS, 2)
    correct_sums = np.where(correct, confidences, 0).sum(axis=0, dtype=np.float64)
    all_sums = confidences.sum(axis=0, dtype=np.float64)
    correct_counts = correct.sum(axis=0)
    # Column 0: wrong labels, column 1: correct ones, as in the histogram.
    sums = np.stack([all_sums - correct_sums, correct_sums], axis=1)
    counts = np.stack([len(correct) - correct_counts, correct_counts], axis=1)

    def mean(total, count):
        return float(total / count) if count else None

    return {
        "mean_correct": mean(sums[:, 1].sum(), counts[:, 1].sum()),
        "mean_wrong": mean(sums[:, 0].sum(), counts[:, 0].sum()),
        "per_annotator_mean_correct": [mean(*cell) for cell in zip(sums[:, 1], counts[:, 1])],
        "per_annotator_mean_wrong": [mean(*cell) for cell in zip(sums[:, 0], counts[:, 0])],
        "histogram_edges": np.linspace(0, 1, CONFIDENCE_BINS + 1).round(6).tolist(),
        "histogram_correct": histogram[:, 1].tolist(),
        "histogram_wrong": histogram[:, 0].tolist(),
    }


def _transition_summary(counts: np.ndarray, top_confusions: int) -> dict[str, Any]:
    row_totals = counts.sum(axis=1)
    present = np.flatnonzero(row_totals)
    diagonal = np.diag(counts)
    off_diagonal = counts.copy()
    np.fill_diagonal(off_diagonal, 0)

    flat = off_diagonal.reshape(-1)
    pairs = _most_frequent(flat, max(top_confusions, HEATMAP_CLASSES * HEATMAP_CLASSES))
    top = pairs[:top_confusions]
    confusions = [
        {
            "clean": _class_entry(code // upstream.NUM_CLASSES),
            "label": _class_entry(code % upstream.NUM_CLASSES),
            "count": int(flat[code]),
            "share_of_clean_class": float(flat[code] / row_totals[code // upstream.NUM_CLASSES]),
        }
        for code in top.tolist()
    ]

    rows = counts[present]
    wrong = off_diagonal[present]
    wrong_totals = wrong.sum(axis=1)
    k = min(TOP_WRONG_LABELS, upstream.NUM_CLASSES - 1)
    top_wrong = -np.partition(-wrong, k - 1, axis=1)[:, :k].sum(axis=1)
    has_wrong = wrong_totals > 0
    class_agreement = diagonal[present] / row_totals[present]
    weights = row_totals[present] / row_totals[present].sum() if len(present) else None
    entropy = _entropy_bits(rows)
    order = np.argsort(class_agreement, kind="stable")
    return {
        "num_clean_classes": len(present),
        "num_distinct_pairs": int(np.count_nonzero(counts)),
        "diagonal_mass": float(diagonal.sum() / counts.sum()) if counts.sum() else None,
        "class_agreement_min": float(class_agreement.min()) if len(present) else None,
        "class_agreement_median": float(np.median(class_agreement)) if len(present) else None,
        "class_agreement_max": float(class_agreement.max()) if len(present) else None,
        "hardest_classes": [
            {**_class_entry(present[i]), "agreement": float(class_agreement[i])}
            for i in order[:5].tolist()
        ],
        "row_entropy_bits_mean": float(entropy @ weights) if len(present) else None,
        "row_entropy_bits_max": float(np.log2(upstream.NUM_CLASSES)),
        "top_wrong_labels_k": k,
        "top_wrong_labels_share_mean": (
            float(np.mean(top_wrong[has_wrong] / wrong_totals[has_wrong]))
            if has_wrong.any()
            else None
        ),
        "top_confusions": confusions,
        "heatmap": _heatmap(counts, pairs, row_totals),
    }


def _most_frequent(counts: np.ndarray, k: int) -> np.ndarray:
    """Indices of the (at least) k largest nonzero counts, largest first; ties: lowest index."""
    nonzero = np.count_nonzero(counts)
    if nonzero > k:
        threshold = np.partition(counts, counts.size - k)[counts.size - k]
        candidates = np.flatnonzero(counts >= max(threshold, 1))
    else:
        candidates = np.flatnonzero(counts)
    return candidates[np.lexsort((candidates, -counts[candidates]))]


def _heatmap(counts: np.ndarray, ordered_pairs: np.ndarray, row_totals: np.ndarray) -> dict:
    """Row-normalised transitions among the classes of the most frequent confusions.

    `ordered_pairs` are off-diagonal codes `clean * 1000 + label`, most frequent first.
    """
    # Both classes of each frequent pair, in order, until HEATMAP_CLASSES are chosen.
    head = ordered_pairs[: HEATMAP_CLASSES * HEATMAP_CLASSES]
    classes = np.stack([head // upstream.NUM_CLASSES, head % upstream.NUM_CLASSES], axis=1)
    _, first_seen = np.unique(classes.reshape(-1), return_index=True)
    chosen = classes.reshape(-1)[np.sort(first_seen)][:HEATMAP_CLASSES]
    chosen = np.sort(chosen)  # class-index order keeps WordNet neighbours (e.g. dogs) together
    block = counts[np.ix_(chosen, chosen)].astype(np.float64)
    shares = np.divide(
        block,
        row_totals[chosen, None],
        out=np.zeros_like(block),
        where=row_totals[chosen, None] > 0,
    )
    return {
        "classes": [_class_entry(i) for i in chosen.tolist()],
        "shares": shares.round(6).tolist(),
    }


def split_report(labels: SplitLabels, *, top_confusions: int = TOP_CONFUSIONS) -> dict[str, Any]:
    """The statistics of one split, as a JSON-able dict (see `stats_rendering.format_text`)."""
    clean = np.asarray(labels.clean_labels, np.int64)
    annotator_labels = np.asarray(labels.annotator_labels)
    confidences = np.asarray(labels.annotator_confidences, np.float32)
    num_examples, num_annotators = annotator_labels.shape
    if num_examples == 0:
        raise ValueError("expected at least one example, found an empty split")
    correct = annotator_labels == clean[:, None]
    agreeing = correct.sum(axis=1)
    majority = label_policies.majority_vote(annotator_labels)
    return {
        "num_examples": int(num_examples),
        "num_annotators": int(num_annotators),
        "agreement": float(correct.mean()),
        "per_annotator_agreement": correct.mean(axis=0).tolist(),
        "majority_vote_agreement": float(np.mean(majority == clean)),
        "examples_by_agreeing_annotators": np.bincount(
            agreeing, minlength=num_annotators + 1
        ).tolist(),
        "confidence": _confidence_summary(confidences, correct),
        "transitions": _transition_summary(
            transition_counts(clean, annotator_labels), top_confusions
        ),
    }


def report(
    source: LabelSource, *, top_confusions: int = TOP_CONFUSIONS, progress: bool = False
) -> dict[str, Any]:
    """The report of every split of `source`, with the published figures beside.

    `expected_agreement` is the fraction of annotator labels equal to the clean label that
    upstream reports for a released config (None for other configs).
    """
    level = upstream.NOISE_LEVELS.get(source.config or "")
    splits = {}
    for split, labels in tqdm.tqdm(
        source.splits.items(), desc="statistics", unit="split", disable=not progress
    ):
        splits[split] = split_report(labels, top_confusions=top_confusions)
    return {
        "source": source.description,
        "config": source.config,
        "beta": source.beta,
        "expected_agreement": level.expected_agreement if level else None,
        # Upstream lists 16 models but not which column is which: shown as "assumed" then.
        "annotator_models": list(source.annotator_models or upstream.ANNOTATOR_MODELS),
        "annotator_models_known": source.annotator_models is not None,
        "class_names_available": synsets.class_names() is not None,
        "splits": splits,
    }
