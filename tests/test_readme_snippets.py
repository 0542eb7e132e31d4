"""Code in README.md runs as written (against a synthetic build).

A snippet is the ```python block that follows a marker line `<!-- test: <name> -->`.
"""

from __future__ import annotations

import os
import re

import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import fake_data

_README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def readme_snippet(name: str, readme: str = _README) -> str:
    """The code of the ```python block after `<!-- test: name -->` in the README."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    marker = f"<!-- test: {name} -->"
    match = re.search(re.escape(marker) + r"\s*```python\n(.*?)\n```", text, re.DOTALL)
    if match is None:
        raise AssertionError(
            f"{readme} has no ```python block right after the line {marker!r}: "
            "put the marker on the line before the snippet this test runs."
        )
    return match.group(1)


@pytest.fixture(scope="module")
def tfds_data_dir(small_sample, tmp_path_factory) -> str:
    """`imagenet_pi/high_noise` of the small sample, built where DATA_DIR will point."""
    manual_dir, _ = small_sample
    data_dir = str(tmp_path_factory.mktemp("tfds_data_dir"))
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return data_dir


def test_jax_training_loop_snippet_trains_and_evaluates_every_image(
    tfds_data_dir, monkeypatch, capsys
):
    code = readme_snippet("jax-training-loop")
    monkeypatch.setenv("DATA_DIR", tfds_data_dir)
    exec(compile(code, f"{_README}:jax-training-loop", "exec"), {"__name__": "__readme__"})
    output = capsys.readouterr().out
    num_validation = fake_data.SMALL_SAMPLE["num_validation"]
    assert f"on {num_validation} images" in output
    loss = float(re.search(r"train loss ([0-9.]+)", output).group(1))
    assert 0 < loss < 6.9  # below log(1000) = 6.908, the loss at the start
