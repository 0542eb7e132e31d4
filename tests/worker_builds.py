"""Builds of `imagenet_pi/high_noise` with a given number of worker processes, in the test
process, and what they write or leave.

Shared by the tests of the parallel build, of the worker count and of faults on workers.
"""

from __future__ import annotations

import hashlib
import os

import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)

CONFIG = "imagenet_pi/high_noise"


def build(manual_dir, data_dir, workers: int | None, **download_kwargs):
    """`CONFIG` built from `manual_dir` into `data_dir` with `build_workers=workers`."""
    builder = tfds.builder(CONFIG, data_dir=str(data_dir), build_workers=workers)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, **download_kwargs)
    )
    return builder


def file_sums(version_dir) -> dict[str, str]:
    """sha256 of every file of a built version folder."""
    return {
        name: hashlib.sha256(open(os.path.join(version_dir, name), "rb").read()).hexdigest()
        for name in sorted(os.listdir(version_dir))
    }


def _config_dir(data_dir) -> str:
    return os.path.join(str(data_dir), "imagenet_pi", "high_noise")


def leftovers(data_dir) -> list[str]:
    """What a failed build must not leave: a version folder, or an incomplete.* folder."""
    if not os.path.isdir(_config_dir(data_dir)):
        return []
    return [name for name in os.listdir(_config_dir(data_dir)) if not name.endswith(".lock")]
