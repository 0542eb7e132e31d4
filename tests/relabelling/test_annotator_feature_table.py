"""The annotator feature table: z-scored accuracy and log parameter count."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_pi.relabelling import annotator_feature_table


def test_annotator_features_are_z_scores_of_accuracy_and_log_parameter_count():
    features = annotator_feature_table.annotator_features_from_accuracy(
        [0.6, 0.7, 0.8], [1e6, 1e7, 1e8]
    )
    assert features.dtype == np.float32 and features.shape == (3, 2)
    np.testing.assert_allclose(features[:, 0], [-1.2247449, 0.0, 1.2247449], atol=1e-6)
    np.testing.assert_allclose(features[:, 1], [-1.2247449, 0.0, 1.2247449], atol=1e-6)


def test_annotator_features_rank_annotators():
    accuracies = np.array([0.76, 0.71, 0.8, 0.68])
    counts = np.array([25.6e6, 4.2e6, 143.7e6, 3.5e6])
    features = annotator_feature_table.annotator_features_from_accuracy(accuracies, counts)
    np.testing.assert_array_equal(np.argsort(features[:, 0]), np.argsort(accuracies))
    np.testing.assert_array_equal(np.argsort(features[:, 1]), np.argsort(counts))
    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(features.std(axis=0), 1.0, rtol=1e-6)


def test_annotator_accuracies_are_top1_against_clean_labels(split_predictions):
    clean_labels = split_predictions[0].argmax(axis=1)
    accuracies = annotator_feature_table.top1_accuracies(
        split_predictions, clean_labels, chunk_size=1000
    )
    expected = [np.mean(probs.argmax(axis=1) == clean_labels) for probs in split_predictions]
    assert accuracies[0] == 1.0
    np.testing.assert_allclose(accuracies, expected)


def test_annotator_features_need_matching_lengths_and_positive_counts():
    with pytest.raises(ValueError, match="two .A,. arrays of one length"):
        annotator_feature_table.annotator_features_from_accuracy([0.5, 0.6], [1e6])
    with pytest.raises(ValueError, match="parameter_counts: expected finite values > 0"):
        annotator_feature_table.annotator_features_from_accuracy([0.5, 0.6], [1e6, 0])
    with pytest.raises(ValueError, match=r"accuracies: expected values in \[0, 1\]"):
        annotator_feature_table.annotator_features_from_accuracy([50.0, 60.0], [1e6, 1e7])
