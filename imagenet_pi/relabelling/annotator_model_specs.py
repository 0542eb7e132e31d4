"""The 16 annotator models as `keras.applications` makes them: input sizes and weights files.

Facts read from `keras.applications` and checked against it in
`tests/relabelling/test_annotator_model_specs.py`. Nothing here imports Keras, so that `imagenet-pi
predict` can check its flags before it loads TensorFlow, and refuse an input size no model
takes before the first model runs.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Sequence

# Where keras.applications downloads the ImageNet weights from.
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class AnnotatorModel:
    """How to run one `keras.applications` model, and what input sides it takes."""

    name: str  # constructor in keras.applications, e.g. "InceptionV3"
    module: str  # keras.applications submodule with its preprocess_input
    input_size: int  # side of the square input its ImageNet weights expect (the default)
    min_input_size: int  # the least side keras.applications builds it at
    # Sides its ImageNet weights (with the classifier top) exist for; None: any side.
    imagenet_input_sizes: tuple[int, ...] | None
    weights_url: str  # under KERAS_WEIGHTS_URL; "{size}" stands for the input side
    weights_file: str  # its name in Keras' cache folder; "{size}" as above

    def imagenet_weights(self, input_size: int | None = None) -> tuple[str, str]:
        """(file name in Keras' cache, URL) of the ImageNet weights at `input_size`."""
        size = input_size or self.input_size
        return (
            self.weights_file.format(size=size),
            KERAS_WEIGHTS_URL + self.weights_url.format(size=size),
        )

    def input_size_requirement(self, input_size: int, imagenet_weights: bool) -> str | None:
        """What this model needs of `input_size`, when it does not take it; else None."""
        if input_size < self.min_input_size:
            return f"at least {self.min_input_size}"
        sizes = self.imagenet_input_sizes
        if imagenet_weights and sizes is not None and input_size not in sizes:
            allowed = " or ".join(", ".join(map(str, sizes)).rsplit(", ", 1))
            return f"{allowed} with ImageNet weights"
        return None


def _resnet_v2(depth: int) -> AnnotatorModel:
    file = f"resnet{depth}v2_weights_tf_dim_ordering_tf_kernels.h5"
    return AnnotatorModel(f"ResNet{depth}V2", "resnet_v2", 224, 32, (224,), f"resnet/{file}", file)


def _densenet(depth: int) -> AnnotatorModel:
    file = f"densenet{depth}_weights_tf_dim_ordering_tf_kernels.h5"
    return AnnotatorModel(f"DenseNet{depth}", "densenet", 224, 32, (224,), f"densenet/{file}", file)


def _plain(name: str, module: str, size: int, min_size: int, file: str) -> AnnotatorModel:
    """A model with one ImageNet weights file, at `size`, kept under its module's folder."""
    return AnnotatorModel(name, module, size, min_size, (size,), f"{module}/{file}", file)


_MOBILENET_V3 = "weights_mobilenet_v3_{}_224_1.0_float.h5"

MODEL_SPECS = {
    model.name: model
    for model in (
        _resnet_v2(50),
        _resnet_v2(101),
        _resnet_v2(152),
        _densenet(121),
        _densenet(169),
        _densenet(201),
        _plain(
            "InceptionResNetV2",
            "inception_resnet_v2",
            299,
            75,
            "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
        ),
        _plain(
            "InceptionV3",
            "inception_v3",
            299,
            75,
            "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        ),
        AnnotatorModel(
            "MobileNet",
            "mobilenet",
            224,
            32,
            (128, 160, 192, 224),
            "mobilenet/mobilenet_1_0_{size}_tf.h5",
            "mobilenet_1_0_{size}_tf.h5",
        ),
        AnnotatorModel(
            "MobileNetV2",
            "mobilenet_v2",
            224,
            32,
            (96, 128, 160, 192, 224),
            "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}.h5",
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}.h5",
        ),
        # Global pooling before the classifier: the 224 weights serve any side.
        AnnotatorModel(
            "MobileNetV3Large",
            "mobilenet_v3",
            224,
            32,
            None,
            "mobilenet_v3/" + _MOBILENET_V3.format("large"),
            _MOBILENET_V3.format("large"),
        ),
        AnnotatorModel(
            "MobileNetV3Small",
            "mobilenet_v3",
            224,
            32,
            None,
            "mobilenet_v3/" + _MOBILENET_V3.format("small"),
            _MOBILENET_V3.format("small"),
        ),
        # Keras caches the file under another name than the URL's.
        AnnotatorModel(
            "NASNetMobile", "nasnet", 224, 32, (224,), "nasnet/NASNet-mobile.h5", "nasnet_mobile.h5"
        ),
        _plain("VGG16", "vgg16", 224, 32, "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
        _plain("VGG19", "vgg19", 224, 32, "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
        _plain("Xception", "xception", 299, 71, "xception_weights_tf_dim_ordering_tf_kernels.h5"),
    )
}


def check_models(models: Sequence[str]) -> None:
    """Raises ValueError naming any name that is not one of `MODEL_SPECS`."""
    unknown = [name for name in models if name not in MODEL_SPECS]
    if unknown:
        raise ValueError(f"models: expected names in {list(MODEL_SPECS)}, found {unknown}")
    if not models:
        raise ValueError(f"models: expected at least one of {list(MODEL_SPECS)}, found none")


def check_input_size(models: Sequence[str], input_size: int | None, imagenet_weights: bool) -> None:
    """Raises ValueError unless every model takes `input_size` (None: each its own size).

    Args:
      models: names in `MODEL_SPECS`.
      input_size: one input side for every model, or None.
      imagenet_weights: whether the models get Keras' ImageNet weights, which exist for
        some sides only.
    """
    if input_size is None:
        return
    refusals = {
        name: requirement
        for name in models
        if (requirement := MODEL_SPECS[name].input_size_requirement(input_size, imagenet_weights))
    }
    if refusals:
        needs = "; ".join(f"{name} takes {requirement}" for name, requirement in refusals.items())
        weights_hint = (
            ", or weights other than ImageNet's (--weights none or a weights file)"
            if any("ImageNet" in requirement for requirement in refusals.values())
            else ""
        )
        raise ValueError(
            f"expected an input size every chosen model takes, found {input_size}: {needs}. "
            "Leave the input size out (each model gets its own), or choose another size, "
            f"fewer models{weights_hint}"
        )


def keras_cache_dir() -> pathlib.Path:
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "models"
