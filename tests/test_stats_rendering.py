"""The noise report rendered: text, PNG plots, Markdown and JSON files, matplotlib left alone."""

from __future__ import annotations

import json
import subprocess
import sys

import noise_reports
import pytest

from imagenet_pi import stats, stats_rendering


@pytest.fixture(scope="module")
def written_report(tmp_path_factory) -> tuple[dict, list]:
    """(the report of `noise_reports.known_labels`, the files `write_report` wrote). Read only."""
    result = stats.report(noise_reports.label_source(noise_reports.known_labels()))
    return result, stats_rendering.write_report(result, tmp_path_factory.mktemp("report"))


def _written(written_report, name: str):
    _, written = written_report
    return next(path for path in written if path.name == name)


def test_report_files_are_pngs_markdown_and_json(written_report):
    _, written = written_report
    assert sorted(path.name for path in written) == [
        "report.json",
        "report.md",
        "train_agreement.png",
        "train_confidence.png",
        "train_confusions.png",
    ]


def test_report_plots_are_png_files(written_report):
    _, written = written_report
    plots = [path for path in written if path.suffix == ".png"]
    assert plots
    for path in plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_markdown_embeds_the_plots_and_tabulates_agreement(written_report):
    markdown = _written(written_report, "report.md").read_text()
    assert "![train_confusions.png](train_confusions.png)" in markdown
    assert "| train | 100 | 50.0% | 16.2% |" in markdown


def test_report_json_is_the_report(written_report):
    result, _ = written_report
    written = _written(written_report, "report.json").read_text()
    assert json.loads(written) == json.loads(json.dumps(result))


_PLOTS_IN_A_NOTEBOOK = """
import sys
import matplotlib
matplotlib.use("svg")  # what a session had chosen before
import numpy as np
from imagenet_pi import stats, stats_rendering
labels = stats.SplitLabels(np.arange(20) % 4, np.zeros((20, 3), np.int16), np.ones((20, 3), "f4"))
result = stats.report(stats.LabelSource("test", "beta_1", 1.0, {"train": labels}))
paths = stats_rendering.write_plots(result, sys.argv[1])
assert all(path.read_bytes()[:4] == b"\\x89PNG" for path in paths), paths
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


@pytest.mark.slow
def test_plots_leave_matplotlib_backend_and_pyplot_alone(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _PLOTS_IN_A_NOTEBOOK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["svg", "False"]
