"""The exception classes the package defines, for the tests of the one error base and of the
CLI's one-line errors.

Test parameters are made at collection, when importing every module would import
TensorFlow, JAX, torch and Keras: `error_class_names` finds the classes in the source, and
`imported_error_class_names` by importing every module (a test checks that both agree).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pathlib
import pkgutil

import imagenet_pi

_PACKAGE = pathlib.Path(imagenet_pi.__file__).parent


def _builtin_subclass(name: str, base: type) -> bool:
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, base)


def error_class_names() -> list[str]:
    """`<module>.<class>` of every public exception class (warnings aside) of the package,
    read from the modules' source: a class is one if a base is a built-in exception or
    another such class of the package (by name)."""
    classes = {}  # "<module>.<class>" -> (class name, names of its bases)
    for path in sorted(_PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(_PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if module.endswith(".__main__"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base).split(".")[-1] for base in node.bases]
                classes[f"{module}.{node.name}"] = (node.name, bases)
    exceptions, warnings = set(), set()  # class names
    while True:
        before = len(exceptions) + len(warnings)
        for name, bases in classes.values():
            if any(_builtin_subclass(base, Warning) or base in warnings for base in bases):
                warnings.add(name)
            elif any(_builtin_subclass(base, Exception) or base in exceptions for base in bases):
                exceptions.add(name)
        if len(exceptions) + len(warnings) == before:
            break
    return sorted(
        full
        for full, (name, _) in classes.items()
        if name in exceptions and name not in warnings and not name.startswith("_")
    )


def imported_error_class_names() -> list[str]:
    """The same, found by importing every module of the package (slow: all of it loads)."""
    found = set()
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
                found.add(f"{value.__module__}.{value.__name__}")
    return sorted(found)


def error_class(name: str) -> type[BaseException]:
    """The class `<module>.<class>`, its module imported."""
    module, _, class_name = name.rpartition(".")
    return getattr(importlib.import_module(module), class_name)
