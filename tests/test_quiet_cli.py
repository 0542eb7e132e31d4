"""`imagenet-pi` commands print their progress and report, and no start-up chatter.

Allowed on stdout for `imagenet-pi demo`: its numbered steps, the report lines (split
sizes and agreement, one example's features, the closing line) and blank lines. Allowed
on stderr: nothing. `stats --no-progress` on a built dataset: its report on stdout,
nothing on stderr.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap

import pytest

from imagenet_pi import cli

_DEMO_LINES = [
    r"1\. Synthetic ILSVRC2012 tars and ImageNet-PI CSVs -> \S+",
    r"2\. Building imagenet_pi/high_noise with the TFDS builder -> \S+",
    r"3\. Loading it with tfds\.load\('imagenet_pi/high_noise', data_dir=\.\.\.\)",
    r"  (train|validation) +\d+ examples; annotator labels agree with the clean label "
    r"[\d.]+% of the time \(ImageNet-PI high_noise: 16\.2%\)",
    r"  One example: n\d{8}_\d+\.JPEG, image \(\d+, \d+, 3\) uint8",
    r"    clean_label +\d+ \(n\d{8}\)",
    r"    annotator_labels +\[[\d, ]+\]",
    r"    annotator_confidences +\[[\d.e\- ]+\]?",
    r" [\d.e\- ]+\]",  # numpy continues a long array on a second line
    r"    annotator_features +\(16, 2\) float32, first row \[[\d.e\- ]+\]",
    r"Done\. Dataset in \S+\.",
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
    assert "Done. Dataset in" in result.stdout


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


def test_start_up_filter_keeps_every_other_line_of_stderr():
    script = textwrap.dedent(
        """
        import os, sys
        from imagenet_pi import cli

        with cli.filtered_stderr(cli.TENSORFLOW_START_UP_NOISE):
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\\n")
            os.write(2, b"I0000 00:00:1796161583.528873   19851 port.cc:153] oneDNN custom "
                        b"operations are on.\\n")
            os.write(2, b"E0000 00:00:1796161599.338442   19851 cuda_platform.cc:52] failed "
                        b"call to cuInit: INTERNAL\\n")
            os.write(2, b"E0000 00:00:1796161599.338442   19851 some_kernel.cc:52] a real error\\n")
            print("a Python warning", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "E0000 00:00:1796161599.338442   19851 some_kernel.cc:52] a real error",
        "a Python warning",
        "after",
    ]


def test_importing_the_package_and_its_cli_sets_nothing():
    script = "import os, imagenet_pi, imagenet_pi.cli; print(sorted(os.environ) == ENV)"
    script = script.replace("ENV", repr(sorted(_clean_environment())))
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_environment(),
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]


def test_demo_silences_warnings_about_its_own_sample_only(caplog):
    logger = logging.getLogger("imagenet_pi.ilsvrc.verification")
    with caplog.at_level(logging.WARNING, logger="imagenet_pi.ilsvrc.verification"):
        with cli._without_warnings_about("/tmp/demo/manual"):
            logger.warning("/tmp/demo/manual/ILSVRC2012_img_train.tar has 440,320 bytes")
            logger.warning("/data/manual/ILSVRC2012_img_train.tar has 440,320 bytes")
        logger.warning("/tmp/demo/manual/ILSVRC2012_img_val.tar has 204,800 bytes")
    assert [record.getMessage() for record in caplog.records] == [
        "/data/manual/ILSVRC2012_img_train.tar has 440,320 bytes",
        "/tmp/demo/manual/ILSVRC2012_img_val.tar has 204,800 bytes",
    ]
