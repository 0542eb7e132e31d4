"""The README's "Five minutes with a synthetic sample" runs verbatim, in the order it is read.

Its blocks are marked `<!-- test: five-minute-path -->`. They run here one after the other,
as a user pastes them: shell blocks with bash, Python blocks as scripts, in a fresh HOME
(so `~/imagenet-pi-sample` is new and nothing of an earlier run is there), with the
`imagenet-pi` and `tfds` commands of the Python that runs the tests and this checkout's
package, and no TFDS or JAX settings of the test run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import doc_pages
import pytest

_NAME = "five-minute-path"


def _blocks() -> list[doc_pages.Block]:
    return [block for block in doc_pages.code_blocks() if block.name == _NAME]


def test_five_minute_path_is_in_the_readme_in_reading_order():
    blocks = _blocks()
    assert [block.page for block in blocks] == ["README.md"] * 4, blocks
    assert [block.language for block in blocks] == ["sh", "python", "sh", "python"]
    assert [block.line for block in blocks] == sorted(block.line for block in blocks)
    first = blocks[0].code
    assert first.startswith("imagenet-pi fake-data --out ~/imagenet-pi-sample\n"), first
    # The PyTorch build goes into a data_dir of its own: array_record next to the TFRecord
    # build would stop with TFDS's "File format is already set".
    tfrecord_dir = re.search(r"--data_dir (\S+)", blocks[0].code).group(1)
    array_record = blocks[2].code
    assert "--file_format array_record" in array_record
    assert re.search(r"--data_dir (\S+)", array_record).group(1) != tfrecord_dir


def _environment(home: str) -> dict[str, str]:
    """A user's environment: this Python's commands first on PATH, a fresh HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TFDS_", "PYTEST_", "XLA_", "TF_", "JAX_"))
        and key not in ("DATA_DIR", "MANUAL_DIR")
    }
    env.update(
        HOME=home,
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        # This checkout's package, even where an installed one is elsewhere (editable).
        PYTHONPATH=str(doc_pages.ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


@pytest.mark.slow
def test_five_minute_path_runs_verbatim_in_a_fresh_home(tmp_path):
    home = tmp_path / "home"
    work = tmp_path / "work"  # the folder the user types in
    home.mkdir()
    work.mkdir()
    env = _environment(str(home))
    outputs = []
    for number, block in enumerate(_blocks()):
        if block.is_python:
            script = work / f"block{number}.py"
            command = [sys.executable, script.name]
        else:
            script = work / f"block{number}.sh"
            command = ["bash", "-euo", "pipefail", script.name]
        script.write_text(block.code, encoding="utf-8")
        result = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, (
            f"{block.label} failed (exit status {result.returncode}) after the blocks above "
            f"it:\n{block.code}\n--- stdout (end):\n{result.stdout[-3000:]}\n"
            f"--- stderr (end):\n{result.stderr[-5000:]}"
        )
        outputs.append(result.stdout)

    sample = home / "imagenet-pi-sample"
    assert (sample / "ILSVRC2012_img_train.tar").is_file()
    for data_dir, shard in (
        ("tensorflow_datasets", "tfrecord"),
        ("tensorflow_datasets_ar", "array_record"),
    ):
        version = sample / data_dir / "imagenet_pi" / "high_noise" / "3.0.0"
        assert (version / "dataset_info.json").is_file(), version
        assert list(version.glob(f"imagenet_pi-train.{shard}-*")), list(version.iterdir())

    # tfds.load's example, then one JAX batch on this machine's one CPU device, with its PI.
    jax_output = outputs[1]
    assert re.search(r"b'n\d{8}_\d+\.JPEG' \[[\d ]+\]", jax_output), jax_output
    assert "image (1, 8, 64, 64, 3) label (1, 8, 16)" in jax_output, jax_output
    for name, k in (("annotator_ids", 16), ("annotator_labels", 1000)):
        assert f"{name} (1, 8, 16, {k})" in jax_output, jax_output
    assert "annotator_confidences (1, 8, 16, 1)" in jax_output, jax_output
    assert "annotator_features (1, 8, 16, 2)" in jax_output, jax_output
    # One PyTorch item: a PIL image's size, its clean label, 16 confidences and 16 labels.
    assert re.fullmatch(r"\(\d+, \d+\) \d+ \(16,\) \(16,\)\n", outputs[3]), outputs[3]
