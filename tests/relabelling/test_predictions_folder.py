"""The predictions folder: `.npy` files that are not predictions are named."""

from __future__ import annotations

import numpy as np
import pytest
from relabel_inputs import validation_file_names

from imagenet_pi.relabelling import parallel_sampling
from imagenet_pi.relabelling.errors import InvalidPredictionsError


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.full((4,), 0.25), r"expected shape \(num_examples, num_classes\), found \(4,\)"),
        (np.ones((4, 1), np.int64), "expected floating-point .* found dtype int64"),
    ],
)
def test_predictions_must_be_2d_floats(tmp_path, values, message):
    np.save(tmp_path / "bad.npy", values)
    with pytest.raises(InvalidPredictionsError, match=r"bad\.npy: " + message):
        parallel_sampling.relabel_split([tmp_path / "bad.npy"], validation_file_names(4), 0.5, 0)


def test_unreadable_npy_names_file(tmp_path):
    (tmp_path / "broken.npy").write_text("ResNet50V2,0.1,0.9\n")
    with pytest.raises(InvalidPredictionsError, match=r"broken\.npy: expected a \.npy"):
        parallel_sampling.relabel_split([tmp_path / "broken.npy"], validation_file_names(1), 0.5, 0)


def test_missing_npy_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        parallel_sampling.relabel_split([tmp_path / "absent.npy"], validation_file_names(1), 0.5, 0)
