"""`imagenet_pi.cli`: the console script and `python -m imagenet_pi.cli` run its `main`."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from imagenet_pi import cli


def test_the_console_script_is_main():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="imagenet-pi")
    assert script.value == "imagenet_pi.cli:main"
    assert script.load() is cli.main


def test_python_dash_m_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "imagenet_pi.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: imagenet-pi ")
    for command in cli.COMMANDS:
        assert f"    {command.name} " in result.stdout
