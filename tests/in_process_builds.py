"""Builds of `imagenet_pi/<config>` in the test process, and what a failed build leaves.

Shared by the tests of each module a build reads through (ILSVRC2012 layouts, annotation
files, the join): they build in-process with TFDS's `download_and_prepare`, as a user's
script would.
"""

from __future__ import annotations

import os

import tensorflow_datasets as tfds

import imagenet_pi  # registers the builder
from imagenet_pi import upstream


def build(
    manual_dir: str, data_dir: str, config: str = "high_noise", **download_kwargs
) -> tfds.core.DatasetBuilder:
    """`imagenet_pi/<config>` built from `manual_dir` into `data_dir`."""
    builder = tfds.builder(f"imagenet_pi/{config}", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, **download_kwargs)
    )
    return builder


def examples(builder: tfds.core.DatasetBuilder, split: str) -> dict[str, dict]:
    """File name -> example of a built split, images left encoded."""
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    return {ex["file_name"].decode(): ex for ex in tfds.as_numpy(dataset)}


def assert_nothing_finished(data_dir: str) -> None:
    """No released config of imagenet_pi in `data_dir` looks finished, nor has its version
    folder (the builder's version, whatever it is)."""
    version = str(imagenet_pi.Builder.VERSION)
    for config in upstream.NOISE_LEVELS:
        assert not tfds.builder(f"imagenet_pi/{config}", data_dir=data_dir).is_prepared()
        version_dir = os.path.join(data_dir, "imagenet_pi", config, version)
        assert not os.path.exists(version_dir), os.listdir(os.path.dirname(version_dir))
