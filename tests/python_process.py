"""Python scripts run in a process of their own, for what may hang or must exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest


def run_to_exit(script: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Runs `script` in a new Python process (group); kills the group if it outlives `timeout`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1", "JAX_PLATFORMS": "cpu"}
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the process did not exit within {timeout} s; stderr:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
