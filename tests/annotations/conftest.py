"""Fixtures of the annotation tests: a config folder of synthetic CSVs to read and break."""

from __future__ import annotations

import pathlib

import csv_edits
import numpy as np
import pytest

from imagenet_pi import annotations


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def config_dir(tmp_path, rng) -> pathlib.Path:
    """A config folder with 50 train and 20 validation rows, shuffled."""
    for split, num_rows in (("train", 50), ("validation", 20)):
        annotations.write_split(tmp_path, split, *csv_edits.random_split(rng, num_rows))
    annotations.write_annotator_features(tmp_path, rng.normal(size=(csv_edits.NUM_ANNOTATORS, 2)))
    return tmp_path
