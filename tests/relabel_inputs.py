"""Inputs of relabelling for tests: random predictions, a predictions folder over a synthetic
sample, and a config folder relabelled from it and built."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import fake_data, relabelled_configs, upstream
from imagenet_pi.relabelling import predictions_folder

# The beta of the custom config the tests of custom configs relabel and build.
CUSTOM_BETA = 0.3


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def random_probabilities(num_examples: int, num_classes: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0.0, 2.0, size=(num_examples, num_classes))
    return softmax(logits)


def validation_file_names(num_examples: int) -> list[str]:
    return [f"ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(num_examples)]


def write_predictions(predictions_dir: str, sample: fake_data.FakeIlsvrc) -> None:
    """A predictions folder in relabel's layout, from the synthetic annotator models."""
    splits = {
        "train": (sample.train_file_names, sample.train_clean_labels),
        "validation": (sample.validation_file_names, sample.validation_clean_labels),
    }
    for split, (file_names, clean_labels) in splits.items():
        split_dir = os.path.join(predictions_dir, split)
        os.makedirs(split_dir)
        with open(os.path.join(split_dir, predictions_folder.FILE_NAMES_FILE), "w") as f:
            f.writelines(f"{name}\n" for name in file_names)
        for annotator, model in enumerate(upstream.ANNOTATOR_MODELS):
            probabilities = fake_data.annotator_probabilities(
                clean_labels, annotator, seed=3, num_annotators=upstream.NUM_ANNOTATORS
            )
            np.save(
                predictions_folder.predictions_path(split_dir, model),
                probabilities.astype(np.float32),
            )
        np.save(
            os.path.join(split_dir, predictions_folder.CLEAN_LABELS_FILE),
            clean_labels.astype(np.int16),
        )
        counts = dict(zip(upstream.ANNOTATOR_MODELS, fake_data.annotator_parameter_counts()))
        with open(os.path.join(split_dir, predictions_folder.PARAMETER_COUNTS_FILE), "w") as f:
            json.dump({model: float(count) for model, count in counts.items()}, f)


def relabelled_sample(root: pathlib.Path, beta: float, seed: int) -> tuple[str, Any, str]:
    """A manual_dir with the tars only, its sample, and a config folder relabelled at `beta`
    from the sample's predictions: (manual_dir, sample, config folder `<root>/beta_<beta>`)."""
    manual_dir = str(root / "manual")
    sample = fake_data.write_sample(manual_dir, configs=[], **fake_data.SMALL_SAMPLE)
    write_predictions(str(root / "predictions"), sample)
    config_dir = str(root / f"beta_{beta}")
    relabelled_configs.relabel_config(root / "predictions", config_dir, beta, seed=seed)
    return manual_dir, sample, config_dir


def build_custom_config(config_dir: str, manual_dir: str, data_dir: str):
    """The config folder built into `data_dir` with the real builder: its custom config."""
    config = imagenet_pi.custom_config(config_dir)
    builder = tfds.builder("imagenet_pi", config=config, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return config


def loaded(name: str, data_dir: str, split: str) -> dict[str, np.ndarray]:
    """A built split in one batch of numpy arrays, images left encoded."""
    dataset = tfds.load(
        name, data_dir=data_dir, split=split, decoders={"image": tfds.decode.SkipDecoding()}
    )
    return next(iter(tfds.as_numpy(dataset.batch(10_000))))
