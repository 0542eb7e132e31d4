"""`imagenet-pi` commands print their progress and report, and no start-up chatter.

Allowed on stdout for `imagenet-pi demo`: its numbered steps, the report lines (split
sizes and agreement, one example and its PI, a line an annotator, the closing line) and
blank lines. Allowed
on stderr: nothing. `stats --no-progress` on a built dataset: its report on stdout,
nothing on stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

_DEMO_LINES = [
    r"1\. Synthetic ILSVRC2012 tars and ImageNet-PI CSVs -> \S+",
    r"2\. Building imagenet_pi/high_noise with the TFDS builder -> \S+",
    r"3\. Loading it with tfds\.load\('imagenet_pi/high_noise', data_dir=\.\.\.\)",
    r"  (train|validation) +\d+ examples; annotator labels agree with the clean label "
    r"[\d.]+% of the time \(ImageNet-PI high_noise: 16\.2%\)",
    r"  One example: n\d{8}_\d+\.JPEG, image \(\d+, \d+, 3\) uint8, clean_label \d+ "
    r"\(n\d{8}\)",
    r"    annotator  label  confidence  features \(accuracy, log size\)",
    r" +\d+ +\d+ +[\d.e\-]+ +-?[\d.]+ +-?[\d.]+",  # one annotator's PI, one line each
    r"Done\. (The sample and the dataset are kept in \S+\.|Removed \S+; pass --workdir DIR "
    r"to keep the sample and the dataset\.)",
    r"",
]


def _clean_environment() -> dict[str, str]:
    """The caller's environment without any TensorFlow logging setting."""
    return {name: value for name, value in os.environ.items() if not name.startswith("TF_")}


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imagenet_pi.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_environment(),
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess, str]:
    workdir = str(tmp_path_factory.mktemp("demo"))
    return _run_cli("demo", "--workdir", workdir), workdir


@pytest.mark.slow
def test_demo_prints_only_its_steps_and_report(demo):
    result, _ = demo
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    unexpected = [
        line
        for line in result.stdout.splitlines()
        if not any(re.fullmatch(pattern, line) for pattern in _DEMO_LINES)
    ]
    assert not unexpected, unexpected
    assert result.stdout.count("examples; annotator labels agree") == 2
    assert result.stdout.count("\n    ") == 17  # the PI table: a header and 16 annotators
    _, workdir = demo
    assert f"Done. The sample and the dataset are kept in {workdir}." in result.stdout


@pytest.mark.slow
def test_demo_without_workdir_removes_its_temporary_folder_and_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "imagenet_pi.cli", "demo", "--synsets", "2", "--validation", "4"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**_clean_environment(), "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (removed,) = re.findall(r"Done\. Removed (\S+); pass --workdir DIR", result.stdout)
    assert removed.startswith(str(tmp_path)) and os.path.basename(removed).startswith(
        "imagenet_pi_demo_"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_stats_of_a_built_dataset_prints_only_its_report(demo):
    _, workdir = demo
    data_dir = os.path.join(workdir, "tensorflow_datasets")
    result = _run_cli(
        "stats", "--dataset", "imagenet_pi/high_noise", "--data_dir", data_dir, "--no-progress"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    assert result.stdout.startswith("ImageNet-PI high_noise, beta = 0.1")
