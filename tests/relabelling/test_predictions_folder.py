"""The predictions folder: `.npy` files that are not predictions are named."""

from __future__ import annotations

import numpy as np
import pytest
from relabel_inputs import validation_file_names

from imagenet_pi.relabelling import parallel_sampling, predictions_folder
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


def test_a_text_file_saved_as_npy_is_said_to_be_no_npy_file(tmp_path):
    # numpy's own reason, "pickled data", would send the user the wrong way.
    (tmp_path / "text.npy").write_text("0.1,0.9\n0.5,0.5\n")
    with pytest.raises(InvalidPredictionsError) as error:
        parallel_sampling.relabel_split([tmp_path / "text.npy"], validation_file_names(2), 0.5, 0)
    message = str(error.value)
    assert "text.npy: expected a .npy file" in message
    assert "starts with b'0.1,0.9" in message and "pickled" not in message


def test_a_folder_in_place_of_a_models_npy_is_named_as_a_folder(tmp_path):
    (tmp_path / "VGG16.npy").mkdir()  # ResNet50V2.npy is not there at all
    with pytest.raises(FileNotFoundError) as error:
        predictions_folder.model_paths(tmp_path, ["ResNet50V2", "VGG16"])
    message = str(error.value)
    assert "ResNet50V2.npy is missing" in message
    assert "VGG16.npy is an empty folder, not a file" in message


def test_a_folder_in_place_of_file_names_txt_is_named_as_a_folder(tmp_path):
    (tmp_path / predictions_folder.FILE_NAMES_FILE).mkdir()
    with pytest.raises(
        FileNotFoundError, match="file_names.txt: .*; it is an empty folder, not a file"
    ):
        predictions_folder.read_file_names(tmp_path)
