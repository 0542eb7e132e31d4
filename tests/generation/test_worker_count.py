"""How many workers a build uses: `build_workers`, `IMAGENET_PI_BUILD_WORKERS`, or the CPUs of
the affinity mask; bad values are refused before anything is read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds
import worker_builds

from imagenet_pi.generation import worker_count

_CONFIG = "imagenet_pi/high_noise"


def test_default_worker_count_is_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.delenv(worker_count.ENV, raising=False)
    assert worker_count.resolve() == len(os.sched_getaffinity(0))


def test_worker_count_follows_the_affinity_mask_not_the_machine():
    script = (
        "import os\n"
        "os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "os.environ.pop('IMAGENET_PI_BUILD_WORKERS', None)\n"
        "from imagenet_pi.generation import worker_count\n"
        "print(worker_count.resolve(), os.cpu_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    workers, cpus = result.stdout.split()
    assert workers == "1" and int(cpus) >= 1


def test_environment_variable_sets_the_worker_count(monkeypatch):
    monkeypatch.setenv(worker_count.ENV, " 3 ")
    assert worker_count.resolve() == 3
    assert worker_count.resolve(requested=5) == 5  # the builder's argument wins


@pytest.mark.parametrize(
    "value",
    # Beside what is no number: what Python's int() reads but a shell user would not
    # write as a count (digit separators, other scripts' digits, a sign).
    ["0", "-2", "two", "1.5", "2 workers", "1_000", "\u0662", "+2", "0x2"],
)
def test_bad_environment_variable_is_refused_before_anything_is_read(tmp_path, monkeypatch, value):
    monkeypatch.setenv(worker_count.ENV, value)
    # The manual_dir does not exist: the variable is what is refused, first.
    with pytest.raises(ValueError) as error:
        worker_builds.build(str(tmp_path / "no_manual_dir"), tmp_path / "data", workers=None)
    message = str(error.value)
    assert message.startswith(f"{worker_count.ENV}={value!r} is not a positive")
    assert worker_builds.leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_bad_build_workers_argument_is_refused_when_the_builder_is_made(tmp_path, value):
    with pytest.raises(ValueError, match="build_workers: expected a positive integer"):
        tfds.builder(_CONFIG, data_dir=str(tmp_path), build_workers=value)


def test_build_workers_reaches_the_builder_through_tfds_load(small_sample, tmp_path):
    manual_dir, sample = small_sample
    dataset = tfds.load(
        _CONFIG,
        split="validation",
        data_dir=str(tmp_path),
        builder_kwargs={"build_workers": 2},
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        },
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    assert len(list(dataset)) == len(sample.validation_file_names)
