"""Code of the docs pages runs as written (against a synthetic build).

A snippet is the ```python block right under a marker line `<!-- test: <name> -->`
(CONTRIBUTING.md, "The doc tests"; tests/docs/test_code_blocks.py checks every block is run
or marked). The PyTorch snippets are run by tests/test_torch_dataset.py and
tests/test_torch_dataset.py, the big_vision one by tests/end_to_end/test_big_vision.py.
"""

from __future__ import annotations

import re

import doc_pages
import pytest

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import fake_data


@pytest.mark.slow
def test_jax_training_loop_snippet_trains_and_evaluates_every_image(
    built_high_noise, monkeypatch, capsys
):
    code = doc_pages.snippet("jax-training-loop")
    monkeypatch.setenv("DATA_DIR", built_high_noise[0])
    exec(compile(code, "docs/jax.md:jax-training-loop", "exec"), {"__name__": "__docs__"})
    output = capsys.readouterr().out
    num_validation = fake_data.SMALL_SAMPLE["num_validation"]
    assert f"on {num_validation} images" in output
    loss = float(re.search(r"train loss ([0-9.]+)", output).group(1))
    assert 0 < loss < 6.9  # below log(1000) = 6.908, the loss at the start
