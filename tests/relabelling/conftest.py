"""Fixtures of the relabelling tests: predictions of a few annotators over one split."""

from __future__ import annotations

import numpy as np
import pytest
from relabel_inputs import random_probabilities

from imagenet_pi.relabelling import temperature_sampling


@pytest.fixture
def split_predictions() -> list[np.ndarray]:
    """Three annotators over 3 sampling blocks plus a ragged tail, 20 classes, float32."""
    num_examples = 3 * temperature_sampling.SAMPLING_BLOCK_ROWS + 123
    return [random_probabilities(num_examples, 20, seed).astype(np.float32) for seed in range(3)]
