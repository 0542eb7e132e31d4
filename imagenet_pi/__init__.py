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
    "annotator_features_of",
    "custom_config",
]
__version__ = "0.1.0"

_BUILDER_MODULE = "imagenet_pi.imagenet_pi_dataset_builder"
_PUBLIC_API = {
    "Builder": _BUILDER_MODULE,
    "ImagenetPiConfig": _BUILDER_MODULE,
    "annotator_features_of": "imagenet_pi.built_datasets",
    "custom_config": "imagenet_pi.custom_configs",
}


def __getattr__(name: str) -> Any:
    """The public API, imported on first use (it needs TensorFlow Datasets)."""
    if name in _PUBLIC_API:
        return getattr(importlib.import_module(_PUBLIC_API[name]), name)
    if name == "annotator_features":  # its first name, dropped
        raise AttributeError(
            "imagenet_pi.annotator_features is now imagenet_pi.annotator_features_of "
            "(same arguments, same result)"
        )
    raise AttributeError(f"module 'imagenet_pi' has no attribute {name!r}")


class _Registration(importlib.abc.MetaPathFinder):
    """Imports (so registers) our builder once TFDS is imported, then leaves `sys.meta_path`.

    It finds nothing itself: it wraps the loaders of `tensorflow_datasets` and of our own
    modules. When one of our modules is what imports TFDS, the builder (which needs our
    modules) is imported only once none of them is still half-way through its own import.
    """

    def __init__(self) -> None:
        self._depth = 0  # how many of our modules are executing now
        self._tfds_imported = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow_datasets" and not fullname.startswith("imagenet_pi."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Then(spec.loader, self, ours=fullname != "tensorflow_datasets")
                return spec
        return None

    def executed(self, ours: bool) -> None:
        """Called after a wrapped module ran."""
        self._tfds_imported = self._tfds_imported or not ours
        if self._tfds_imported and self._depth == 0 and self in sys.meta_path:
            sys.meta_path.remove(self)
            importlib.import_module(_BUILDER_MODULE)


class _Then(importlib.abc.Loader):
    """Runs a module's own loader, then tells `_Registration`."""

    def __init__(self, loader: importlib.abc.Loader, registration: _Registration, ours: bool):
        self._loader = loader
        self._registration = registration
        self._ours = ours

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the loader's own
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._registration._depth += self._ours
        try:
            self._loader.exec_module(module)
        finally:
            self._registration._depth -= self._ours
        self._registration.executed(self._ours)


if "tensorflow_datasets" in sys.modules:
    importlib.import_module(_BUILDER_MODULE)
elif not any(isinstance(finder, _Registration) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Registration())
