"""PI features of the chosen annotators: shapes, dtypes, one-hot or index labels."""

from __future__ import annotations

import annotated_examples
import numpy as np
import pytest

from imagenet_pi import pi_features

_features = annotated_examples.annotator_features


@pytest.fixture(scope="module")
def annotated():
    """Synthetic clean labels, 16 annotator labels (real relabelling process) and keys."""
    return annotated_examples.annotated()


_CHOSEN = np.array([[3, 0], [15, 3]])  # 2 examples x 2 chosen annotators


def _pi_of_chosen(annotated, labels_format: str = "one_hot") -> dict[str, np.ndarray]:
    _, labels, confidences, _ = annotated
    return pi_features.pi_features(_CHOSEN, labels[:2], confidences[:2], _features(), labels_format)


def test_pi_features_have_the_documented_shapes_and_float32(annotated):
    pi = _pi_of_chosen(annotated)
    assert pi["annotator_ids"].shape == (2, 2, 16)
    assert pi["annotator_labels"].shape == (2, 2, 1000)
    assert pi["annotator_confidences"].shape == (2, 2, 1)
    assert pi["annotator_features"].shape == (2, 2, 2)
    assert all(v.dtype == np.float32 for v in pi.values())


def test_pi_features_are_those_of_the_chosen_annotators(annotated):
    _, labels, confidences, _ = annotated
    pi = _pi_of_chosen(annotated)
    assert pi["annotator_ids"][1, 0].argmax() == 15 and pi["annotator_ids"][1, 0].sum() == 1
    assert pi["annotator_labels"][0, 1].argmax() == labels[0, 0]
    assert pi["annotator_confidences"][1, 1, 0] == confidences[1, 3]
    np.testing.assert_array_equal(pi["annotator_features"][0, 0], _features()[3])


def test_index_encoding_gives_annotator_labels_as_class_indices(annotated):
    _, labels, _, _ = annotated
    pi = _pi_of_chosen(annotated, "index")
    assert pi["annotator_labels"].shape == (2, 2, 1)
    assert pi["annotator_labels"][1, 0, 0] == labels[1, 15]


def test_padded_annotator_id_gives_all_zero_one_hot():
    np.testing.assert_array_equal(
        pi_features.one_hot(np.array([-1, 2]), 4), [[0, 0, 0, 0], [0, 0, 1, 0]]
    )
