"""ImageNet-PI for TensorFlow Datasets and JAX.

Importing this package registers the TFDS builder `imagenet_pi` (configs
`high_noise` and `low_noise`), replacing the config-less builder TFDS ships:

    import imagenet_pi
    import tensorflow_datasets as tfds
    ds = tfds.load("imagenet_pi/high_noise", split="train")

The builder registers as soon as TensorFlow Datasets is imported (at once if it
already is), so the numpy-only modules (`label_policies`, `pi_features`,
`relabel`, ...) import without TensorFlow and leave TFDS's registry alone.
"""

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

__all__ = [
    "Builder",
    "ImagenetPiConfig",
    "annotator_features",
    "annotator_features_of",
    "custom_config",
]
__version__ = "0.1.0"

_BUILDER_MODULE = "imagenet_pi.imagenet_pi_dataset_builder"
_PUBLIC_API = {
    "Builder": _BUILDER_MODULE,
    "ImagenetPiConfig": _BUILDER_MODULE,
    "annotator_features": _BUILDER_MODULE,  # the first name of annotator_features_of
    "annotator_features_of": _BUILDER_MODULE,
    "custom_config": "imagenet_pi.custom_configs",
}


def __getattr__(name: str) -> Any:
    """The public API, imported on first use (it needs TensorFlow Datasets)."""
    if name in _PUBLIC_API:
        return getattr(importlib.import_module(_PUBLIC_API[name]), name)
    raise AttributeError(f"module 'imagenet_pi' has no attribute {name!r}")


class _ThenRegister(importlib.abc.Loader):
    """Runs TFDS's own loader, then imports (so registers) our builder."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: TFDS's own
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        importlib.import_module(_BUILDER_MODULE)


class _RegisterWhenTfdsImports(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of `tensorflow_datasets` once, then leaves."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow_datasets":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader)
        return spec


if "tensorflow_datasets" in sys.modules:
    importlib.import_module(_BUILDER_MODULE)
elif not any(isinstance(finder, _RegisterWhenTfdsImports) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenTfdsImports())
