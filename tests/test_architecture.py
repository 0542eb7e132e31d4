"""ARCHITECTURE.md stays a true map of the package, and the tests mirror it."""

from __future__ import annotations

import ast
import json
import pathlib
import re
import subprocess
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _modules() -> set[str]:
    package = _ROOT / "imagenet_pi"
    found = set()
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if path.name == "__init__.py":
            if relative.parent != pathlib.Path("."):
                found.add(f"{relative.parent.as_posix()}/")
            continue
        found.add(relative.name if relative.parent == pathlib.Path(".") else relative.stem)
    return found


def test_architecture_names_every_module_of_the_package():
    text = (_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+(?:\.py|/))`", text)) | set(re.findall(r"`(\w+)`", text))
    missing = sorted(module for module in _modules() if module not in named)
    assert not missing, f"ARCHITECTURE.md does not name {missing}: add each to its stage's table"


def test_architecture_names_no_module_that_is_gone():
    text = (_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\| `(\w+\.py)`", text))
    named |= {name for cell in re.findall(r"\| `(\w+\.py)` / `(\w+\.py)`", text) for name in cell}
    gone = sorted(name for name in named if not (_ROOT / "imagenet_pi" / name).exists())
    assert not gone, f"ARCHITECTURE.md names modules that do not exist: {gone}"


def _test_file_of(relative: pathlib.Path) -> pathlib.Path | None:
    """Where the tests of `imagenet_pi/<relative>` live (relative to tests/); None for an
    `__init__.py` or `__main__.py` that only re-exports or runs another module's code.

    `imagenet_pi/<sub>/<module>.py` -> `<sub>/test_<module>.py`; an `__init__.py` with
    behaviour of its own (a function or class, or the package's, which registers the
    builder on import) -> `<sub>/test_init.py`.
    """
    if relative.name == "__main__.py":
        return None
    if relative.name == "__init__.py":
        tree = ast.parse((_ROOT / "imagenet_pi" / relative).read_text(encoding="utf-8"))
        defines = any(isinstance(node, _DEFINITIONS) for node in tree.body)
        if not defines and relative.parent != pathlib.Path("."):
            return None
        return relative.parent / "test_init.py"
    return relative.parent / f"test_{relative.stem}.py"


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def test_every_module_has_its_test_file():
    package = _ROOT / "imagenet_pi"
    missing = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        test_file = _test_file_of(relative)
        if test_file is not None and not (_ROOT / "tests" / test_file).is_file():
            missing.append(f"imagenet_pi/{relative.as_posix()} -> tests/{test_file.as_posix()}")
    assert not missing, (
        "modules without their test file (tests of imagenet_pi/<sub>/<module>.py go in "
        "tests/<sub>/test_<module>.py; end-to-end tests in tests/end_to_end/):\n"
        + "\n".join(missing)
    )


_WRITER_MODULES = (
    "imagenet_pi.imagenet_pi_dataset_builder",
    "imagenet_pi.ilsvrc",
    "imagenet_pi.annotations.origins",
    "imagenet_pi.generation.build_lock",
)
_READER_MODULES = (
    "imagenet_pi.input_pipeline",
    "imagenet_pi.pi_lookup",
    "imagenet_pi.torch_dataset",
    "imagenet_pi.built_datasets",
    "imagenet_pi.stats",
)
# Imports each reader module without running the package's __init__ (which registers the
# builder with TFDS: the package's concern, not the reader's), then lists the writer
# modules that got imported. One process for all of them: before each, every module of the
# package is forgotten, so that each reader imports ours afresh (TensorFlow, JAX and torch,
# imported once, stay).
_IMPORT_THE_READERS = """
import importlib, importlib.util, json, sys, types
spec = importlib.util.find_spec("imagenet_pi")  # found, not imported
imported = {{}}
for module in {modules!r}:
    for name in [name for name in sys.modules if name.split(".")[0] == "imagenet_pi"]:
        del sys.modules[name]
    package = types.ModuleType("imagenet_pi")
    package.__path__, package.__spec__ = spec.submodule_search_locations, spec
    sys.modules["imagenet_pi"] = package
    importlib.import_module(module)
    imported[module] = sorted(set({writers!r}) & set(sys.modules))
print(json.dumps(imported))
"""


@pytest.fixture(scope="module")
def writers_imported_by() -> dict[str, list[str]]:
    """Reader module -> the writer modules importing it imported."""
    script = _IMPORT_THE_READERS.format(modules=_READER_MODULES, writers=_WRITER_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", _READER_MODULES)
def test_reader_modules_do_not_import_the_writer(module, writers_imported_by):
    assert writers_imported_by[module] == []
