"""Every annotator of a split, in chunks of rows, on all cores: the draws of one annotator's
sampling, whatever the chunks and workers."""

from __future__ import annotations

import numpy as np
import pytest
from relabel_inputs import random_probabilities, validation_file_names

from imagenet_pi.relabelling import parallel_sampling, temperature_sampling
from imagenet_pi.relabelling.errors import InvalidPredictionsError


@pytest.mark.parametrize(
    ("chunk_size", "num_workers"), [(1, 1), (5000, 2), (4096, 3), (10**7, 2), (8192, 1)]
)
def test_split_result_does_not_depend_on_chunks_or_workers(
    split_predictions, chunk_size, num_workers
):
    file_names = validation_file_names(len(split_predictions[0]))
    reference = parallel_sampling.relabel_split(
        split_predictions, file_names, 0.2, 5, num_workers=1
    )
    labels, confidences = parallel_sampling.relabel_split(
        split_predictions, file_names, 0.2, 5, chunk_size=chunk_size, num_workers=num_workers
    )
    np.testing.assert_array_equal(labels, reference[0])
    np.testing.assert_array_equal(confidences, reference[1])


def test_split_column_is_relabel_of_its_annotator(split_predictions):
    file_names = validation_file_names(len(split_predictions[0]))
    labels, confidences = parallel_sampling.relabel_split(split_predictions, file_names, 0.2, 5)
    assert labels.dtype == np.int16 and confidences.dtype == np.float32
    assert labels.shape == confidences.shape == (len(file_names), 3)
    for annotator, probs in enumerate(split_predictions):
        expected_labels, expected_confidences = temperature_sampling.relabel(
            probs, beta=0.2, seed=5, annotator=annotator
        )
        np.testing.assert_array_equal(labels[:, annotator], expected_labels)
        np.testing.assert_array_equal(confidences[:, annotator], expected_confidences)


def test_split_reads_npy_files_like_arrays(tmp_path, split_predictions):
    paths = []
    for annotator, probs in enumerate(split_predictions):
        paths.append(tmp_path / f"annotator{annotator}.npy")
        np.save(paths[-1], probs)
    file_names = validation_file_names(len(split_predictions[0]))
    from_files = parallel_sampling.relabel_split(paths, file_names, 0.2, 5, chunk_size=3000)
    from_arrays = parallel_sampling.relabel_split(split_predictions, file_names, 0.2, 5)
    np.testing.assert_array_equal(from_files[0], from_arrays[0])
    np.testing.assert_array_equal(from_files[1], from_arrays[1])


# Errors.


def test_rows_not_summing_to_one_name_file_and_row(tmp_path):
    probs = random_probabilities(10, 5, seed=0).astype(np.float32)
    probs[7] *= 0.9
    np.save(tmp_path / "VGG16.npy", probs)
    with pytest.raises(InvalidPredictionsError, match=r"VGG16\.npy: row 7: .*sum.*logits"):
        parallel_sampling.relabel_split([tmp_path / "VGG16.npy"], validation_file_names(10), 0.5, 0)


def test_file_names_count_must_match_rows(split_predictions):
    with pytest.raises(
        InvalidPredictionsError, match=r"predictions\[0\]: expected shape \(10, 20\)"
    ):
        parallel_sampling.relabel_split(split_predictions, validation_file_names(10), 0.5, 0)


def test_annotators_must_agree_on_shape(tmp_path):
    np.save(tmp_path / "a.npy", random_probabilities(8, 5, seed=0))
    np.save(tmp_path / "b.npy", random_probabilities(8, 6, seed=0))
    with pytest.raises(InvalidPredictionsError, match=r"b\.npy: expected shape \(8, 5\)"):
        parallel_sampling.relabel_split(
            [tmp_path / "a.npy", tmp_path / "b.npy"], validation_file_names(8), 0.5, 0
        )


def test_no_annotators_is_an_error():
    with pytest.raises(ValueError, match="one array or .npy file per annotator, found none"):
        parallel_sampling.relabel_split([], validation_file_names(1), 0.5, 0)
