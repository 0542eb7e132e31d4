"""Builds on several worker processes, run as processes of their own: the same files from
separate processes, every CPU used, and faults (a killed worker, Ctrl-C, a killed build) that
stop every process and leave nothing finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import python_process
import worker_builds

from imagenet_pi import fake_data, upstream
from imagenet_pi.generation import worker_count

_CONFIG = "imagenet_pi/high_noise"
_TIMEOUT = 300


@pytest.mark.slow
def test_two_builds_in_separate_processes_write_the_same_files(small_sample, tmp_path):
    manual_dir, _ = small_sample
    script = (
        "import sys, tensorflow_datasets as tfds, imagenet_pi\n"
        f"b = tfds.builder({_CONFIG!r}, data_dir=sys.argv[1])\n"
        "b.download_and_prepare(download_config=tfds.download.DownloadConfig("
        "manual_dir=sys.argv[2]))\n"
    )
    for name in ("a", "b"):
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / name), manual_dir],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    version = os.path.join("imagenet_pi", "high_noise", "3.0.0")
    assert worker_builds.file_sums(tmp_path / "a" / version) == worker_builds.file_sums(
        tmp_path / "b" / version
    )


@pytest.mark.slow
def test_default_build_runs_on_every_cpu_available(small_sample, tmp_path):
    # Which processes read the parts: the build's own, or others (its workers).
    manual_dir, _ = small_sample
    script = """
import os, sys
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi.generation import parallel_build

os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
read_part = parallel_build._Build._read_part

def recorded(self, task, *args):
    with open(sys.argv[3], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return read_part(self, task, *args)

parallel_build._Build._read_part = recorded
builder = tfds.builder("imagenet_pi/high_noise", data_dir=sys.argv[2])
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[1]))
print(os.getpid())
"""
    log = tmp_path / "readers.log"
    env = {k: v for k, v in os.environ.items() if k != worker_count.ENV}
    result = subprocess.run(
        [sys.executable, "-c", script, manual_dir, str(tmp_path / "data"), str(log)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    readers = set(log.read_text().split())
    expected = min(2, len(os.sched_getaffinity(0)))
    assert len(readers) == expected
    if expected > 1:
        assert result.stdout.split()[-1] not in readers  # parts read by worker processes


_STUCK_BUILD = """
import os, signal, sys, time
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi.generation import parallel_build

manual_dir, data_dir, pid_file, mode = sys.argv[1:]
read_part = parallel_build._Build._read_part

def stuck(self, task, *args):
    if task.split == "train" and task.index == 1:
        if mode == "raise":
            raise RuntimeError("the disk is on fire")
        with open(pid_file + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(pid_file + ".tmp", pid_file)
        time.sleep(600)
    return read_part(self, task, *args)

parallel_build._Build._read_part = stuck
builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir, build_workers=2)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
"""


def _start_stuck_build(manual_dir: str, tmp_path, mode: str = "stick") -> subprocess.Popen:
    args = [manual_dir, str(tmp_path / "data"), str(tmp_path / "pid"), mode]
    return subprocess.Popen(
        [sys.executable, "-c", _STUCK_BUILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job is
    )  # fmt: skip


def _wait_for_file(path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + _TIMEOUT
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.05)
    return open(path).read()


def _processes_in_group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _second_train_part(sample: fake_data.FakeIlsvrc) -> str:
    synsets = sorted({name.split("_")[0] for name in sample.train_file_names})
    return f"member '{synsets[1]}.tar'"


@pytest.mark.slow
def test_killed_worker_fails_the_build_within_seconds_naming_its_part(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        worker = int(_wait_for_file(tmp_path / "pid", build))
        os.kill(worker, signal.SIGKILL)
        killed_at = time.monotonic()
        _, stderr = build.communicate(timeout=_TIMEOUT)
        took = time.monotonic() - killed_at
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
    assert build.returncode != 0
    assert took < 20, f"the build took {took:.0f} s to fail"
    assert "WorkerError: The worker process" in stderr
    assert f"died while working on {os.path.join(manual_dir, upstream.TRAIN_TAR)}" in stderr
    assert _second_train_part(sample) in stderr
    assert "killed by signal SIGKILL" in stderr
    assert worker_builds.leftovers(tmp_path / "data") == []
    assert _processes_in_group(build.pid) == []


@pytest.mark.slow
def test_error_on_a_worker_fails_the_build_naming_its_part(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path, mode="raise")
    _, stderr = build.communicate(timeout=_TIMEOUT)
    assert build.returncode != 0
    assert "RuntimeError: the disk is on fire" in stderr
    assert "raised in worker process" in stderr and _second_train_part(sample) in stderr
    assert worker_builds.leftovers(tmp_path / "data") == []
    assert _processes_in_group(build.pid) == []


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_the_next_build_starts_cleanly(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        _wait_for_file(tmp_path / "pid", build)
        os.killpg(build.pid, signal.SIGINT)  # what a terminal sends its foreground job
        interrupted_at = time.monotonic()
        _, stderr = build.communicate(timeout=_TIMEOUT)
        took = time.monotonic() - interrupted_at
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
    assert build.returncode != 0 and "KeyboardInterrupt" in stderr
    assert took < 20, f"the build took {took:.0f} s to stop"
    assert _processes_in_group(build.pid) == []
    assert worker_builds.leftovers(tmp_path / "data") == []
    builder = worker_builds.build(manual_dir, tmp_path / "data", workers=2)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


@pytest.mark.slow
def test_killed_build_takes_its_workers_with_it(small_sample, tmp_path):
    manual_dir, _ = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        worker = int(_wait_for_file(tmp_path / "pid", build))
        build.kill()  # SIGKILL to the build alone: no finally, no atexit
        build.wait(timeout=_TIMEOUT)
        deadline = time.monotonic() + 20
        while _processes_in_group(build.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(build.pid, signal.SIGKILL) if _processes_in_group(build.pid) else None
    assert _processes_in_group(build.pid) == [], f"worker {worker} outlived its build"


@pytest.mark.slow
def test_odd_images_are_fixed_on_forked_workers_after_the_parent_used_tensorflow(tmp_path):
    # Workers decode CMYK and PNG images with TensorFlow kernels (run on the calling
    # thread). The parent forks them after its own TensorFlow work has started TF's
    # thread pools (tf.data, a multi-threaded matmul, the same decode kernels): the
    # build must still finish, with every odd image fixed.
    manual_dir = str(tmp_path / "manual")
    script = f"""
import tensorflow as tf
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi import fake_data

fake_data.write_sample({manual_dir!r}, configs=["high_noise"], num_synsets=3,
                       images_per_synset=3, num_validation=4, image_size=32,
                       num_cmyk=2, num_png=1)
total = tf.data.Dataset.range(10_000).map(lambda x: x * 2, num_parallel_calls=4).reduce(
    tf.constant(0, tf.int64), lambda a, b: a + b)
big = tf.random.uniform((512, 512))
tf.linalg.matmul(big, big).numpy()
sample_jpeg = tf.io.encode_jpeg(tf.zeros((8, 8, 3), tf.uint8)).numpy()
tf.io.decode_jpeg(sample_jpeg, dct_method="INTEGER_ACCURATE").numpy()
builder = tfds.builder("imagenet_pi/high_noise", data_dir={str(tmp_path / "data")!r},
                       build_workers=3)
builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir={manual_dir!r}))
import io
from PIL import Image
modes = set()
for split in ("train", "validation"):
    ds = builder.as_dataset(split=split, decoders={{"image": tfds.decode.SkipDecoding()}})
    for example in ds.as_numpy_iterator():
        with Image.open(io.BytesIO(example["image"])) as image:
            modes.add((image.format, image.mode))
print("formats and modes:", sorted(modes))
"""
    result = python_process.run_to_exit(script, timeout=_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "formats and modes: [('JPEG', 'RGB')]" in result.stdout, result.stdout
