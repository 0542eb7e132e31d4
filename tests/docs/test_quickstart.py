"""The README's Quickstart: the demo runs as written, and CI runs its test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import doc_pages
import pytest

_ROOT = str(doc_pages.ROOT)
_INSTALL_STEPS = ("python3 -m venv ", ". .venv/bin/activate", "pip install ")


def _quickstart_blocks() -> list[doc_pages.Block]:
    heads = doc_pages.heading_titles(doc_pages.README)
    start = next(line for line, _, title in heads if title == "Quickstart")
    end = next((line for line, level, _ in heads if line > start and level <= 2), 10**9)
    return [b for b in doc_pages.code_blocks() if b.page == "README.md" and start < b.line < end]


def _commands(block: doc_pages.Block) -> list[str]:
    return [part.strip() for part in block.code.strip().split("&&")]


def _ci_commands() -> list[str]:
    with open(os.path.join(_ROOT, ".ci", "run"), encoding="utf-8") as f:
        lines = [line.strip() for line in f if not line.lstrip().startswith("#")]
    return [part.strip() for line in lines if line for part in line.split("&&")]


def test_quickstart_test_command_is_what_ci_runs():
    blocks = _quickstart_blocks()
    assert len(blocks) >= 2, "the Quickstart should hold the demo command, then the test command"
    commands, ci = _commands(blocks[1]), _ci_commands()
    for command in commands:
        assert command in ci, (
            f"the Quickstart's test command ({blocks[1].label}) runs `{command}`, which "
            f".ci/run does not; make the two the same. .ci/run runs: {ci}"
        )
    positions = [ci.index(command) for command in commands]
    assert positions == sorted(positions), f".ci/run runs {commands} in another order: {ci}"
    assert ci[-1] == commands[-1], ".ci/run must end with the Quickstart's test command"


@pytest.mark.slow
def test_quickstart_demo_runs(tmp_path):
    """<!-- test: quickstart-demo -->: the block's commands after the install steps."""
    block = _quickstart_blocks()[0]
    assert block.kind == "test" and block.name == "quickstart-demo", block
    commands = [c for c in _commands(block) if not c.startswith(_INSTALL_STEPS)]
    assert commands == ["imagenet-pi demo"], f"{block.label}: update this test for {commands}"
    env = dict(os.environ, HOME=str(tmp_path), TMPDIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TFDS_DATA_DIR", None)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", " && ".join(commands)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        f"{block.label}: {result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    # 10 synsets x 8 images and 40 validation images by default, loaded back with tfds.load.
    assert re.search(r"train\s+80 examples; annotator labels agree", result.stdout), result.stdout
    assert re.search(r"validation\s+40 examples", result.stdout), result.stdout
    # As the Quickstart says: the demo works in a temporary folder and removes it.
    (removed,) = re.findall(r"Done\. Removed (\S+); pass --workdir DIR", result.stdout)
    assert removed.startswith(str(tmp_path)) and not os.path.exists(removed)
