"""The public path of the annotator models' predictions over a split (`imagenet-pi predict`).

`annotator_models.predict_split(images, out_dir)` runs the 16 `keras.applications` models
over a split into a predictions folder. The code is in `imagenet_pi.relabelling`
(`annotator_predictions`, `model_inputs`, `keras_models`, `annotator_model_specs`); this
module gives its names at the path users and the README import. It imports TensorFlow.
"""

from imagenet_pi.relabelling.annotator_model_specs import MODEL_SPECS, AnnotatorModel
from imagenet_pi.relabelling.annotator_predictions import DEFAULT_BATCH_SIZE, predict_split
from imagenet_pi.relabelling.errors import PredictionsError, WeightsDownloadError
from imagenet_pi.relabelling.keras_models import build_model, fetch_imagenet_weights
from imagenet_pi.relabelling.model_inputs import DEFAULT_CROP_FRACTION, prepare_image

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CROP_FRACTION",
    "MODEL_SPECS",
    "AnnotatorModel",
    "PredictionsError",
    "WeightsDownloadError",
    "build_model",
    "fetch_imagenet_weights",
    "predict_split",
    "prepare_image",
]
