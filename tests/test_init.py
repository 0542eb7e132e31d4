"""`import imagenet_pi` makes `imagenet_pi` resolve to this package, whatever was imported first."""

from __future__ import annotations

import importlib.metadata
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

_TFDS_OWN = "tensorflow_datasets.datasets.imagenet_pi.imagenet_pi_dataset_builder"

_CHECK = """
import tensorflow_datasets as tfds
import imagenet_pi
assert tfds.builder_cls("imagenet_pi") is imagenet_pi.Builder, tfds.builder_cls("imagenet_pi")
builder = tfds.builder("imagenet_pi/low_noise", data_dir="{data_dir}")
assert isinstance(builder, imagenet_pi.Builder) and builder.builder_config.beta == 0.5
assert "imagenet_pi" in tfds.list_builders(with_community_datasets=False)
print("resolved", builder.info.full_name)
"""

_ORDERS = {
    "tfds_builder_imported_first": f"import {_TFDS_OWN}\n",
    "tfds_builder_looked_up_first": (
        "import tensorflow_datasets as tfds\ntfds.builder_cls('imagenet_pi')\n"
    ),
    "ours_first_then_tfds_builder": f"import imagenet_pi\nimport {_TFDS_OWN}\n",
}


_QUICK_ORDER = "ours_first_then_tfds_builder"  # the others run with the slow tests


@pytest.mark.parametrize(
    "prelude",
    [
        pytest.param(prelude, id=name, marks=() if name == _QUICK_ORDER else pytest.mark.slow)
        for name, prelude in _ORDERS.items()
    ],
)
def test_our_builder_wins_in_any_import_order(prelude, tmp_path):
    script = prelude + textwrap.dedent(_CHECK).format(data_dir=tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resolved imagenet_pi/low_noise/3.0.0" in result.stdout


def _modules_importing_tfds_at_top() -> list[str]:
    """Our modules that import TensorFlow Datasets when they are imported."""
    import ast
    import pathlib

    package = pathlib.Path(__file__).parent.parent / "imagenet_pi"
    found = []
    for path in sorted(package.rglob("*.py")):  # subpackages too
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "tensorflow_datasets" for name in names):
                found.append(
                    ".".join(["imagenet_pi", *path.relative_to(package).with_suffix("").parts])
                )
                break
    return found


@pytest.mark.slow
@pytest.mark.parametrize("module", _modules_importing_tfds_at_top())
def test_a_module_that_imports_tfds_first_still_registers_our_builder(module):
    # The builder needs our modules when it registers: the one that imported TFDS must not
    # be re-entered half-imported ("partially initialized module").
    script = (
        f"import {module}\n"
        "import tensorflow_datasets as tfds\n"
        "print(tfds.builder_cls('imagenet_pi').__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "imagenet_pi.imagenet_pi_dataset_builder"


def test_importing_the_package_installs_no_import_hook():
    # `import tensorflow_datasets` can never fail because of this package. (Libraries it
    # imports, absl and six, add finders of their own.)
    script = (
        "import sys\n"
        "import imagenet_pi\n"
        "ours = [type(hook).__module__ for hook in [*sys.meta_path, *sys.path_hooks]\n"
        "        if type(hook).__module__.startswith('imagenet_pi')]\n"
        "assert not ours, ours\n"
        "import tensorflow_datasets as tfds\n"
        "assert tfds.builder_cls('imagenet_pi') is imagenet_pi.Builder\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "ok"


def test_the_version_is_one_and_the_changelog_names_it():
    # One version: what pip installed (setup.py), `__version__`, and the newest package
    # section of the changelog, so that a message naming an older version is never the
    # version the user has.
    import imagenet_pi

    assert importlib.metadata.version("imagenet_pi") == imagenet_pi.__version__
    changelog = pathlib.Path(__file__).parents[1] / "CHANGELOG.md"
    package_part = changelog.read_text(encoding="utf-8").split("## Package `imagenet_pi`")[1]
    newest = re.search(r"^### (.+)$", package_part, re.MULTILINE).group(1)
    assert newest == imagenet_pi.__version__, (newest, imagenet_pi.__version__)
