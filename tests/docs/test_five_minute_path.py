"""The README's "Five minutes with a synthetic sample" runs verbatim, in the order it is read.

Its blocks are marked `<!-- test: five-minute-path -->`. They run here one after the other,
as a user pastes them: shell blocks with bash, Python blocks as scripts, in a fresh HOME
(so `~/imagenet-pi-sample` is new and nothing of an earlier run is there), with the
`imagenet-pi` and `tfds` commands of the Python that runs the tests and this checkout's
package, and no TFDS or JAX settings of the test run.
"""

from __future__ import annotations

import re

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


@pytest.mark.slow
def test_five_minute_path_runs_verbatim_in_a_fresh_home(tmp_path):
    home = tmp_path / "home"
    work = tmp_path / "work"  # the folder the user types in
    home.mkdir()
    work.mkdir()
    env = doc_pages.user_environment(home)
    outputs = [doc_pages.run_block(block, work, env).stdout for block in _blocks()]

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
