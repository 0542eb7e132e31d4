"""The exception classes the package defines, for the tests of the one error base and of the
CLI's one-line errors."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import imagenet_pi


def error_classes() -> list[type[BaseException]]:
    """Every public exception class (warnings aside) a module of the package defines, by name."""
    found = {}
    for module_info in pkgutil.walk_packages(imagenet_pi.__path__, "imagenet_pi."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, Exception)
                and not issubclass(value, Warning)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
            ):
                found[f"{value.__module__}.{value.__name__}"] = value
    return [found[name] for name in sorted(found)]
