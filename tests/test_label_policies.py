"""Label policies on synthetic annotations: choices, statistics, determinism."""

from __future__ import annotations

import collections
import subprocess
import sys

import annotated_examples
import numpy as np
import pytest

from imagenet_pi import label_policies

_NUM = annotated_examples.NUM_EXAMPLES
_ACCURACY = annotated_examples.ACCURACY
_features = annotated_examples.annotator_features


@pytest.fixture(scope="module")
def annotated():
    """Synthetic clean labels, 16 annotator labels (real relabelling process) and keys."""
    return annotated_examples.annotated()


def test_all_annotators_gives_every_label(annotated):
    clean, labels, _, keys = annotated
    selection = label_policies.AllAnnotators().select(labels, clean, keys, np.zeros(_NUM))
    np.testing.assert_array_equal(selection.label, labels)
    np.testing.assert_array_equal(selection.annotators[7], np.arange(16))
    assert selection.label.dtype == np.int32


def test_uniform_subset_picks_k_distinct_annotators_evenly(annotated):
    clean, labels, _, keys = annotated
    policy = label_policies.AnnotatorSubset(k=3, seed=5)
    selection = policy.select(labels, clean, keys, np.zeros(_NUM))
    assert selection.annotators.shape == selection.label.shape == (_NUM, 3)
    assert all(len(set(row)) == 3 for row in selection.annotators.tolist())
    np.testing.assert_array_equal(
        selection.label, np.take_along_axis(labels, selection.annotators, axis=1)
    )
    frequency = np.bincount(selection.annotators.ravel(), minlength=16) / (3 * _NUM)
    # Each annotator is drawn with probability 1/16: 12000 draws, sd ~ 0.0022.
    np.testing.assert_allclose(frequency, 1 / 16, atol=0.012)


def test_fixed_draw_depends_on_example_not_on_batch_order_or_epoch(annotated):
    clean, labels, _, keys = annotated
    policy = label_policies.AnnotatorSubset(k=4, seed=5)
    first = policy.select(labels, clean, keys, np.zeros(_NUM)).annotators
    order = np.random.default_rng(1).permutation(_NUM)
    again = policy.select(labels[order], clean[order], keys[order], np.full(_NUM, 3)).annotators
    np.testing.assert_array_equal(again, first[order])


def test_redraw_each_epoch_changes_the_draw_between_epochs_only(annotated):
    clean, labels, _, keys = annotated
    policy = label_policies.RandomAnnotator(seed=2, redraw_each_epoch=True)
    epoch0 = policy.select(labels, clean, keys, np.zeros(_NUM)).annotators
    epoch0_again = policy.select(labels, clean, keys, np.zeros(_NUM)).annotators
    epoch1 = policy.select(labels, clean, keys, np.ones(_NUM)).annotators
    np.testing.assert_array_equal(epoch0, epoch0_again)
    # Two independent uniform draws over 16 annotators agree 1/16 of the time.
    assert 0.03 < np.mean(epoch0 == epoch1) < 0.1


def test_seed_changes_the_draw(annotated):
    clean, labels, _, keys = annotated
    a = label_policies.AnnotatorSubset(k=2, seed=0).select(labels, clean, keys, 0).annotators
    b = label_policies.AnnotatorSubset(k=2, seed=1).select(labels, clean, keys, 0).annotators
    assert np.mean(a == b) < 0.2


def test_best_and_worst_keep_the_most_and_least_accurate_annotators(annotated):
    clean, labels, _, keys = annotated
    accuracy = tuple(_features()[:, 0].tolist())
    best = label_policies.AnnotatorSubset(k=3, strategy="best", accuracy=accuracy)
    worst = label_policies.AnnotatorSubset(k=3, strategy="worst", accuracy=accuracy)
    ranked = np.argsort(_ACCURACY)  # fake annotators' accuracy rises with the index
    best_choice = best.select(labels, clean, keys, 0).annotators
    worst_choice = worst.select(labels, clean, keys, 0).annotators
    np.testing.assert_array_equal(best_choice[0], ranked[::-1][:3])
    np.testing.assert_array_equal(worst_choice[0], ranked[:3])
    agreement = lambda s: np.mean(s.select(labels, clean, keys, 0).label == clean[:, None])  # noqa: E731
    assert agreement(best) > agreement(worst) + 0.05


def test_random_annotator_is_uniform_over_the_16(annotated):
    clean, labels, _, keys = annotated
    selection = label_policies.RandomAnnotator(seed=3).select(labels, clean, keys, 0)
    assert selection.label.shape == (_NUM,) and selection.annotators.shape == (_NUM, 1)
    np.testing.assert_array_equal(
        selection.label, labels[np.arange(_NUM), selection.annotators[:, 0]]
    )
    counts = np.bincount(selection.annotators[:, 0], minlength=16)
    chi2 = np.sum((counts - _NUM / 16) ** 2 / (_NUM / 16))
    assert chi2 < 40  # 15 degrees of freedom: p < 0.001 above ~37.7


def test_majority_vote_ties_go_to_the_smallest_class():
    labels = np.array(
        [
            [5] * 9 + [7] * 7,  # clear majority
            [9] * 8 + [3] * 8,  # tie between 9 and 3
            list(range(16)),  # everyone disagrees
        ]
    )
    np.testing.assert_array_equal(label_policies.majority_vote(labels), [5, 3, 0])


@pytest.mark.parametrize("dtype", [np.int16, np.int64])
def test_majority_vote_is_the_smallest_of_the_most_frequent_labels(dtype):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 5, (3000, 16)).astype(dtype)  # few classes: ties are common
    expected = []
    for row in labels.tolist():
        counts = collections.Counter(row)
        top = max(counts.values())
        expected.append(min(label for label, count in counts.items() if count == top))
    votes = label_policies.majority_vote(labels)
    assert votes.dtype == np.int32
    np.testing.assert_array_equal(votes, expected)


def test_majority_vote_beats_a_single_annotator_on_synthetic_data(annotated):
    clean, labels, _, keys = annotated
    majority = label_policies.MajorityVote().select(labels, clean, keys, 0).label
    single = label_policies.RandomAnnotator(seed=0).select(labels, clean, keys, 0).label
    assert np.mean(majority == clean) > np.mean(single == clean) + 0.1


def test_clean_policy_returns_clean_labels_and_every_annotator(annotated):
    clean, labels, _, keys = annotated
    selection = label_policies.CleanLabel().select(labels, clean, keys, 0)
    np.testing.assert_array_equal(selection.label, clean)
    assert selection.annotators.shape == (_NUM, 16)


def test_uniforms_are_uniform_and_reproducible():
    keys = label_policies.example_keys([f"f{i}" for i in range(20000)])
    draws = label_policies.uniforms(7, keys, 0, 4)
    assert draws.min() >= 0 and draws.max() < 1
    assert abs(draws.mean() - 0.5) < 0.005
    np.testing.assert_array_equal(draws, label_policies.uniforms(7, keys, 0, 4))
    assert np.all(label_policies.example_keys(["a", b"a"]) == label_policies.example_keys(["a"])[0])


def test_make_policy_explains_missing_arguments():
    with pytest.raises(ValueError, match="num_annotators_per_example"):
        label_policies.make_policy("subset")
    with pytest.raises(ValueError, match="accuracy"):
        label_policies.make_policy("subset", k=2, strategy="best")
    with pytest.raises(ValueError, match="majority"):
        label_policies.make_policy("plurality")
    with pytest.raises(ValueError, match="k must be"):
        label_policies.make_policy("subset", k=17)


_IMPORT_POLICIES_THEN_TFDS = """
import sys
import imagenet_pi.label_policies
import imagenet_pi.pi_features
print("tensorflow loaded:", "tensorflow" in sys.modules)
import tensorflow_datasets as tfds
print("registered:", tfds.builder_cls("imagenet_pi").__module__)
"""


@pytest.mark.slow
def test_label_policies_import_without_tensorflow_and_register_our_builder():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_POLICIES_THEN_TFDS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The package registers its builder on import (TFDS is imported; TensorFlow is not yet).
    assert "tensorflow loaded: False" in result.stdout
    assert "registered: imagenet_pi.imagenet_pi_dataset_builder" in result.stdout
