"""ImageNet-PI for TensorFlow Datasets and JAX.

Importing this package registers the TFDS builder `imagenet_pi` (configs
`high_noise` and `low_noise`), replacing the config-less builder TFDS ships:

    import imagenet_pi
    import tensorflow_datasets as tfds
    ds = tfds.load("imagenet_pi/high_noise", split="train")
"""

from imagenet_pi.custom_configs import custom_config
from imagenet_pi.imagenet_pi_dataset_builder import Builder, ImagenetPiConfig, annotator_features

__all__ = ["Builder", "ImagenetPiConfig", "annotator_features", "custom_config"]
__version__ = "0.1.0"
