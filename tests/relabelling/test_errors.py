"""The error classes of the relabelling tools: bad input, of this package."""

from __future__ import annotations

import pytest

import imagenet_pi
from imagenet_pi.relabelling import errors

_CLASSES = [
    errors.InvalidPredictionsError,
    errors.RelabelFileError,
    errors.PredictionsError,
    errors.WeightsDownloadError,
]


@pytest.mark.parametrize("error_class", _CLASSES, ids=lambda c: c.__name__)
def test_each_error_is_bad_input_of_the_package(error_class):
    assert issubclass(error_class, ValueError)
    assert issubclass(error_class, imagenet_pi.ImagenetPiError)


def test_a_failed_weights_download_is_caught_as_a_predictions_error():
    with pytest.raises(errors.PredictionsError):
        raise errors.WeightsDownloadError("could not download the ImageNet weights of VGG16")
