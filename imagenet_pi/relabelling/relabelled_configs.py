"""A config folder from a predictions folder: relabel every split, write the upstream layout.

`relabel_config` is what `imagenet-pi relabel` runs: it reads the predictions folder (see
`predictions_folder`), relabels each split with `parallel_sampling`, computes the annotator
feature table (`annotator_feature_table`) and writes `labels/`, `confidences/`,
`annotator_features.csv` and `relabel.json` (`relabel_metadata`). Its public path is
`imagenet_pi.relabelled_configs`.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from imagenet_pi import annotations, upstream
from imagenet_pi.relabelling import (
    annotator_feature_table,
    parallel_sampling,
    predictions_folder,
    relabel_metadata,
    temperature_sampling,
)


def write_relabelled_config(
    out_dir: str | os.PathLike,
    splits: Mapping[str, tuple[Sequence[str] | np.ndarray, np.ndarray, np.ndarray]],
    annotator_features: np.ndarray,
) -> None:
    """Writes a config folder in the upstream layout (readable as a custom builder config).

    Rows are written in the order given; `annotations.read_split` returns them sorted by
    file name.

    Args:
      out_dir: the config folder; gets `labels/<split>.csv`, `confidences/<split>.csv` and
        `annotator_features.csv`.
      splits: split name ('train', 'validation') -> (file names `(N,)`, labels `(N, 16)` class
        indices in [0, 1000), confidences `(N, 16)` in [0, 1]).
      annotator_features: `(16, 2)` float, row `a` describing annotator (column) `a`.
    """
    num_annotators = upstream.NUM_ANNOTATORS
    annotator_features = annotator_feature_table.check_annotator_features(annotator_features)
    for split, (_, labels, _) in splits.items():
        if split not in upstream.SPLITS:
            raise ValueError(f"splits: expected names in {upstream.SPLITS}, found {split!r}")
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[1] != num_annotators:
            raise ValueError(
                f"{split}: expected labels of shape (N, {num_annotators}) (an ImageNet-PI config "
                f"has {num_annotators} annotators), found {labels.shape}"
            )
        if labels.size and not (labels.min() >= 0 and labels.max() < upstream.NUM_CLASSES):
            raise ValueError(
                f"{split}: expected labels in [0, {upstream.NUM_CLASSES}) (ILSVRC2012 classes), "
                f"found [{labels.min()}, {labels.max()}]; predictions must have "
                f"{upstream.NUM_CLASSES} columns in sorted-synset order"
            )
    for split, (file_names, labels, confidences) in splits.items():
        annotations.write_split(out_dir, split, file_names, labels, confidences)
    annotations.write_annotator_features(out_dir, annotator_features)


def relabel_config(
    predictions_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    beta: float,
    seed: temperature_sampling.Seed,
    *,
    splits: Sequence[str] = upstream.SPLITS,
    models: Sequence[str] = upstream.ANNOTATOR_MODELS,
    from_logits: bool = False,
    annotator_features: np.ndarray | None = None,
    accuracy_split: str = "validation",
    chunk_size: int = parallel_sampling.DEFAULT_CHUNK_ROWS,
    num_workers: int | None = None,
    progress: bool = False,
) -> None:
    """Relabels every split of `predictions_dir` and writes a config folder to `out_dir`.

    `predictions_dir/<split>/` holds `file_names.txt` and `<Model>.npy` for each of the 16
    `models` (column `a` of the output is `models[a]`), `(N, 1000)` probabilities (or logits
    with `from_logits`). Each split uses the seed `split_seed(seed, split)`. Besides the CSVs,
    `out_dir/relabel.json` records beta, seed, models (column order) and splits; it is
    written last, so a folder with one is complete.

    Every file is checked (`predictions_folder.open_split`: names, shapes, the 1000 classes; clean
    labels and parameter counts) before anything is relabelled or written.

    Without `annotator_features`, they are computed from each model's top-1 accuracy on
    `accuracy_split` (needs `<accuracy_split>/clean_labels.npy`) and its parameter count
    (`<accuracy_split>/parameter_counts.json`), as `imagenet_pi.annotator_models` writes them.
    """
    predictions_dir = pathlib.Path(predictions_dir)
    beta = temperature_sampling.check_beta(beta)
    temperature_sampling.seed_entropy(seed)
    _check_models_and_splits(models, splits)
    # Every file is checked before the long relabelling starts, and before anything is written.
    folders = {
        split: predictions_folder.open_split(predictions_dir / split, models) for split in splits
    }
    if annotator_features is None:
        annotator_features = annotator_feature_table.from_predictions_folder(
            predictions_dir / accuracy_split, models
        )
    annotator_features = annotator_feature_table.check_annotator_features(annotator_features)
    relabelled = {}
    for split, folder in folders.items():
        labels, confidences = parallel_sampling.relabel_split(
            folder.paths,
            folder.file_names,
            beta,
            temperature_sampling.split_seed(seed, split),
            from_logits=from_logits,
            chunk_size=chunk_size,
            num_workers=num_workers,
            progress=progress,
        )
        relabelled[split] = (folder.file_names, labels, confidences)
    # relabel.json is written last: a folder that has one is complete and described by it.
    relabel_metadata.remove_metadata(out_dir)
    write_relabelled_config(out_dir, relabelled, annotator_features)
    metadata = {
        "beta": float(beta),
        "seed": seed if isinstance(seed, int) else list(temperature_sampling.seed_entropy(seed)),
        "models": list(models),
        "from_logits": from_logits,
        "splits": list(splits),
        "predictions_dir": os.fspath(predictions_dir.resolve()),
    }
    relabel_metadata.write_metadata(out_dir, metadata)


def _check_models_and_splits(models: Sequence[str], splits: Sequence[str]) -> None:
    if len(models) != upstream.NUM_ANNOTATORS:
        raise ValueError(
            f"models: expected {upstream.NUM_ANNOTATORS} annotator model names (one per column "
            f"of an ImageNet-PI config), found {len(models)}"
        )
    unknown = [split for split in splits if split not in upstream.SPLITS]
    if unknown:
        raise ValueError(f"splits: expected names in {upstream.SPLITS}, found {unknown}")
    if not splits:
        raise ValueError(f"splits: expected at least one of {upstream.SPLITS}, found none")
