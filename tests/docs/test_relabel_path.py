"""docs/noise-levels.md's relabelling steps run verbatim, in the order they are read.

Its blocks marked `<!-- test: relabel-path -->` are step 2 (`imagenet-pi relabel`), step 3
(the build, from Python or from the command line: two ways to do one thing, so each reader
here runs one of them) and step 4 (the load by name). Each reader has a fresh HOME (TFDS's
default data_dir is `~/tensorflow_datasets`) and a working folder holding `preds/<split>/`:
predictions of the 16 synthetic annotator models over a synthetic sample's images, in the
layout `imagenet-pi predict` writes (`relabel_inputs.write_predictions`). Step 1 (`predict`)
needs the Keras weights and ImageNet: it stays `not run`.

Only what the page says stands for something else is filled in: `<manual_dir>` (the
sample: its two tars, and high_noise's PI CSVs, which the custom config must not use),
`1a2b3c4d` (the digest of the name `relabel` printed) and `/abs/my_noise/beta_0.3` (that
folder's absolute path).
"""

from __future__ import annotations

import json
import re
import shlex

import doc_pages
import numpy as np
import pytest
import relabel_inputs

from imagenet_pi import annotations, custom_configs, fake_data, upstream

_NAME = "relabel-path"
_PAGE = "docs/noise-levels.md"
_DIGEST = "1a2b3c4d"  # "stands for your folder's digest"
_ABSOLUTE = "/abs/my_noise/beta_0.3"  # "its absolute path"
_CONFIG_DIR = "my_noise/beta_0.3"  # relabel's --out, relative to the working folder


def _blocks() -> list[doc_pages.Block]:
    return [block for block in doc_pages.code_blocks() if block.name == _NAME]


def test_relabel_path_is_on_the_noise_levels_page_in_reading_order():
    blocks = _blocks()
    assert [block.page for block in blocks] == [_PAGE] * 4, blocks
    assert [block.language for block in blocks] == ["sh", "python", "sh", "python"]
    assert [block.line for block in blocks] == sorted(block.line for block in blocks)
    relabel, from_python, from_command_line, load = (block.code for block in blocks)
    assert relabel.startswith("imagenet-pi relabel --predictions preds "), relabel
    assert f"--out {_CONFIG_DIR}" in relabel, relabel
    assert f'custom_config("{_CONFIG_DIR}")' in from_python, from_python
    assert from_command_line.startswith("tfds build imagenet_pi "), from_command_line
    assert _DIGEST in from_command_line and _ABSOLUTE in from_command_line, from_command_line
    assert f'"imagenet_pi/beta_0.3_seed0_{_DIGEST}"' in load, load


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[str, fake_data.FakeIlsvrc]:
    """A manual_dir: both tars and high_noise's PI CSVs (read only)."""
    manual_dir = str(tmp_path_factory.mktemp("relabel_path") / "manual")
    sample = fake_data.write_sample(manual_dir, configs=["high_noise"], **fake_data.SMALL_SAMPLE)
    return manual_dir, sample


def _filled(code: str, manual_dir: str, digest: str, config_dir: str) -> str:
    code = code.replace("<manual_dir>", manual_dir).replace(_DIGEST, digest)
    code = code.replace(_ABSOLUTE, config_dir)
    left = re.findall(r"<[\w.-]+>", code)
    assert not left, f"placeholders {left} have no value in this test"
    return code


def _build_config(command: str) -> dict:
    """The `--config` JSON of a `tfds build` command."""
    argv = shlex.split(command.replace("\\\n", " "))
    return json.loads(argv[argv.index("--config") + 1])


def _printed_file_name_and_labels(output: str) -> tuple[str, list[int]]:
    match = re.search(r"^b'([^']+)' \[([\d\s]+)\]$", output, re.MULTILINE)
    assert match, f"expected a file name and its labels, as numpy prints them:\n{output}"
    return match.group(1), [int(label) for label in match.group(2).split()]


@pytest.mark.slow
@pytest.mark.parametrize("build", ["from Python", "from the command line"])
def test_relabel_path_runs_verbatim_on_a_synthetic_sample(build, sample, tmp_path):
    manual_dir, fake = sample
    home, work = tmp_path / "home", tmp_path / "work"  # work: the folder the reader types in
    home.mkdir()
    work.mkdir()
    relabel_inputs.write_predictions(str(work / "preds"), fake)
    env = doc_pages.user_environment(home)
    relabel, from_python, from_command_line, load = _blocks()
    config_dir = str(work / _CONFIG_DIR)

    # Step 2: the config name it prints, `beta_<beta>_seed<seed>_<digest>`.
    printed = doc_pages.run_block(relabel, work, env).stdout
    match = re.search(r"^Config name (beta_0\.3_seed0_([0-9a-f]{8})) ", printed, re.MULTILINE)
    assert match, printed
    name, digest = match.groups()
    assert custom_configs.custom_config(config_dir).name == name
    # The page's command line is the one relabel printed, with the reader's folder.
    printed_command = next(line for line in printed.splitlines() if "tfds build" in line)
    filled = {
        block: _filled(block.code, manual_dir, digest, config_dir)
        for block in (from_python, from_command_line, load)
    }
    assert _build_config(filled[from_command_line]) == _build_config(printed_command)

    # Step 3, one way or the other, into ~/tensorflow_datasets; step 4 loads it from there.
    step3 = from_python if build == "from Python" else from_command_line
    doc_pages.run_block(step3, work, env, filled[step3])
    output = doc_pages.run_block(load, work, env, filled[load]).stdout

    data_dir = str(home / "tensorflow_datasets")
    version_dir = home / "tensorflow_datasets" / "imagenet_pi" / name / "3.0.0"
    assert (version_dir / "dataset_info.json").is_file(), version_dir
    # What step 4 prints: one train example's labels and the annotator features, relabel's.
    file_name, labels = _printed_file_name_and_labels(output)
    train = annotations.read_split(config_dir, "train")
    assert labels == train.labels[train.row(file_name)].tolist(), output
    assert str(annotations.read_annotator_features(config_dir)) in output, output

    # The build holds the sample's images, with my_noise's labels, not the manual_dir's
    # high_noise ones.
    names = {"train": fake.train_file_names, "validation": fake.validation_file_names}
    for split in upstream.SPLITS:
        examples = relabel_inputs.loaded(f"imagenet_pi/{name}", data_dir, split)
        assert sorted(n.decode() for n in examples["file_name"]) == sorted(names[split])
        mine = annotations.read_split(config_dir, split)
        rows = mine.rows(examples["file_name"])
        assert (rows >= 0).all()
        np.testing.assert_array_equal(examples["annotator_labels"], mine.labels[rows])
        np.testing.assert_array_equal(examples["annotator_confidences"], mine.confidences[rows])
        released = annotations.read_split(f"{manual_dir}/imagenet_pi/high_noise", split)
        rows = released.rows(examples["file_name"])
        assert (rows >= 0).all()
        assert not np.array_equal(examples["annotator_labels"], released.labels[rows])
