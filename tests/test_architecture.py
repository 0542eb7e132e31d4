"""ARCHITECTURE.md stays a true map of the package."""

from __future__ import annotations

import pathlib
import re

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
