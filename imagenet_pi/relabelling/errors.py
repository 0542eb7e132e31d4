"""The error classes of the relabelling tools, in one module that every step imports.

Each is a `ValueError` (bad input) and an `imagenet_pi.ImagenetPiError`, which the
`imagenet-pi` command prints as one line.
"""

from __future__ import annotations

from imagenet_pi import errors


class InvalidPredictionsError(errors.ImagenetPiError, ValueError):
    """Annotator predictions (probabilities or logits) that cannot be relabelled."""


class RelabelFileError(errors.ImagenetPiError, ValueError):
    """A file of a predictions folder, or a relabel.json, that cannot be used as it is."""


class PredictionsError(errors.ImagenetPiError, ValueError):
    """The images or an existing predictions folder cannot be used as asked."""


class WeightsDownloadError(PredictionsError):
    """Keras' ImageNet weights of a model are not in its cache and could not be downloaded."""
