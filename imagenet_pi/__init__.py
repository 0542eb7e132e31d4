"""ImageNet-PI for TensorFlow Datasets and JAX.

Importing this package registers the TFDS builder `imagenet_pi` (configs
`high_noise` and `low_noise`), replacing the config-less builder TFDS ships:

    import imagenet_pi
    import tensorflow_datasets as tfds
    ds = tfds.load("imagenet_pi/high_noise", split="train")

As in TFDS's community builders, the builder module is imported (and so registered)
here, which imports TensorFlow Datasets (TensorFlow itself loads later, when TFDS first
needs it).
"""

from imagenet_pi.built_datasets import annotator_features_of
from imagenet_pi.custom_configs import custom_config
from imagenet_pi.errors import ImagenetPiError
from imagenet_pi.imagenet_pi_dataset_builder import Builder, ImagenetPiConfig

__all__ = [
    "Builder",
    "ImagenetPiConfig",
    "ImagenetPiError",
    "annotator_features_of",
    "custom_config",
]
__version__ = "0.2.0"


def __getattr__(name: str):
    if name == "annotator_features":  # its first name, dropped
        raise AttributeError(
            "imagenet_pi.annotator_features is now imagenet_pi.annotator_features_of "
            "(same arguments, same result)"
        )
    raise AttributeError(f"module 'imagenet_pi' has no attribute {name!r}")
