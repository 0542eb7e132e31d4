"""`imagenet_pi.relabel`, the public path of the relabelling process, gives its names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imagenet_pi import relabel
from imagenet_pi.relabelling import errors, temperature_sampling

# The names docs/noise-levels.md's "From Python: the relabelling API" uses.
_README_NAMES = ["relabel", "sample_temperatures", "tempered_distribution", "split_seed"]
_README_NAMES += ["check_beta"]


@pytest.mark.parametrize("name", _README_NAMES)
def test_the_public_path_gives_the_sampling_functions(name):
    assert getattr(relabel, name) is getattr(temperature_sampling, name)


def test_the_public_path_gives_the_error_of_bad_predictions():
    assert relabel.InvalidPredictionsError is errors.InvalidPredictionsError


def test_importing_the_public_path_loads_no_tensorflow():
    script = "import sys, imagenet_pi.relabel; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr[-2000:]
