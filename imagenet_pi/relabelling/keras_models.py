"""The annotator models as `keras.applications` builds them, and their ImageNet weights.

The facts about each model (input sizes, weights files and URLs) are
`annotator_model_specs`, which does not import Keras; this module does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import keras

from imagenet_pi.relabelling import annotator_model_specs
from imagenet_pi.relabelling.annotator_model_specs import MODEL_SPECS
from imagenet_pi.relabelling.errors import WeightsDownloadError


def build_model(name: str, weights: str | None = "imagenet", input_size: int | None = None):
    """A `keras.applications` annotator model with a softmax top, and its preprocess_input.

    Args:
      name: one of `MODEL_SPECS`.
      weights: "imagenet" (downloaded by Keras on first use), None (random), or a file path.
      input_size: input side; default the size its ImageNet weights expect.

    Returns:
      (keras.Model mapping `(b, size, size, 3)` to `(b, 1000)` probabilities, preprocess_input).
    """
    annotator_model_specs.check_models([name])
    spec = MODEL_SPECS[name]
    size = input_size or spec.input_size
    model = getattr(keras.applications, spec.name)(
        weights=weights, input_shape=(size, size, 3), classifier_activation="softmax"
    )
    return model, getattr(keras.applications, spec.module).preprocess_input


def fetch_imagenet_weights(models: Sequence[str], input_size: int | None = None) -> None:
    """Puts Keras' ImageNet weights of every model in Keras' cache, downloading what is missing.

    Keras would download each model's weights when it builds the model; fetching them all
    first makes a missing network fail before the first prediction, with one message.

    Raises:
      WeightsDownloadError: a download failed; it names the file, its URL, where Keras looks
        for it, and the files of the other models that are missing too.
    """
    cache = annotator_model_specs.keras_cache_dir()
    needed = [(name, *MODEL_SPECS[name].imagenet_weights(input_size)) for name in models]
    missing = [(name, file, url) for name, file, url in needed if not (cache / file).is_file()]
    made_by_keras = [folder for folder in (cache.parent, cache) if not folder.exists()]
    for index, (name, file_name, url) in enumerate(missing):
        try:
            # Into the folder looked in above, which Keras' models look in too.
            keras.utils.get_file(
                file_name, url, cache_dir=os.fspath(cache.parent), cache_subdir=cache.name
            )
        except Exception as error:  # Keras raises a bare Exception for a failed download
            for folder in reversed(made_by_keras):
                with contextlib.suppress(OSError):  # only if empty: nothing else is touched
                    folder.rmdir()
            others = [f"{file} ({model})" for model, file, _ in missing[index + 1 :]]
            also = (
                f"; the other models need {', '.join(others)} there too (from "
                f"{annotator_model_specs.KERAS_WEIGHTS_URL}...)"
                if others
                else ""
            )
            reason = str(error).replace(f" on {url}", "")  # Keras' message repeats the URL
            raise WeightsDownloadError(
                f"could not download the ImageNet weights of {name}, {url} ({reason}). "
                f"Without network, copy the file there by hand: {cache / file_name} (Keras' "
                f"cache; $KERAS_HOME/models if KERAS_HOME is set){also}. Or pass a weights "
                "file of the model (weights=FILE, --weights FILE), or random weights "
                "(weights=None, --weights none) to try the tool. Nothing was written."
            ) from error
