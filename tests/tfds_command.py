"""The `tfds` command of this virtualenv, run as a user runs it (tests never touch the network)."""

from __future__ import annotations

import os
import subprocess
import sys


def tfds_build(
    name: str, manual_dir: str, data_dir: str, *flags: str
) -> subprocess.CompletedProcess:
    """`tfds build <name> --imports imagenet_pi --manual_dir ... --data_dir ... <flags>`."""
    command = os.path.join(os.path.dirname(sys.executable), "tfds")
    return subprocess.run(
        [
            command, "build", name,
            "--imports", "imagenet_pi",
            "--manual_dir", manual_dir,
            "--data_dir", data_dir,
            *flags,
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
