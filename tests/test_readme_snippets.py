"""Code in README.md runs as written (against a synthetic build).

A snippet is the ```python block right under a marker line `<!-- test: <name> -->`
(README, "Development"; tests/test_readme_blocks.py checks every block is run or marked).
"""

from __future__ import annotations

import re

import pytest
import readme_doc

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import fake_data

_README = readme_doc.README


def readme_snippet(name: str, readme: str = _README) -> str:
    """The code of the ```python block under `<!-- test: name -->` in the README."""
    found = [
        block
        for block in readme_doc.code_blocks(readme_doc.read(readme))
        if block.kind == "test" and block.name == name and block.is_python
    ]
    if len(found) != 1:
        raise AssertionError(
            f"{readme} has {len(found)} ```python blocks right under the line "
            f"<!-- test: {name} -->, expected one: put the marker on the line before the "
            "snippet this test runs."
        )
    return found[0].code


@pytest.mark.slow
def test_jax_training_loop_snippet_trains_and_evaluates_every_image(
    built_high_noise, monkeypatch, capsys
):
    code = readme_snippet("jax-training-loop")
    monkeypatch.setenv("DATA_DIR", built_high_noise[0])
    exec(compile(code, f"{_README}:jax-training-loop", "exec"), {"__name__": "__readme__"})
    output = capsys.readouterr().out
    num_validation = fake_data.SMALL_SAMPLE["num_validation"]
    assert f"on {num_validation} images" in output
    loss = float(re.search(r"train loss ([0-9.]+)", output).group(1))
    assert 0 < loss < 6.9  # below log(1000) = 6.908, the loss at the start
