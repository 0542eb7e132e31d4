"""Builds killed mid-way and builds run twice at once, with real processes.

A "held" build is a real build that stops once a worker has read a part of the train split
(its incomplete.* folder then holds the examples it spilled) until the test creates a
release file.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # registers the builder
from imagenet_pi import fake_data
from imagenet_pi.generation import build_lock

_CONFIG = "imagenet_pi/high_noise"
_TIMEOUT = 300

_HELD_BUILD = """
import os, sys, time
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi.generation import parallel_build

manual_dir, data_dir, started, release = sys.argv[1:]
read_part = parallel_build._Build._read_part

def held_read_part(self, task, *args):
    # On the worker processes (they inherit this patch) and, with one worker, here.
    result = read_part(self, task, *args)
    if task.split == "train":
        open(started, "w").close()
        deadline = time.time() + 300
        while not os.path.exists(release):
            if time.time() > deadline:
                sys.exit("held build: never released")
            time.sleep(0.05)
    return result

parallel_build._Build._read_part = held_read_part
builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
print("built", builder.info.splits["train"].num_examples)
"""

_BUILD = """
import sys
import tensorflow_datasets as tfds
import imagenet_pi

manual_dir, data_dir = sys.argv[1:3]
beam_options = None
if len(sys.argv) > 3:
    import apache_beam as beam
    beam_options = beam.options.pipeline_options.PipelineOptions(sys.argv[3:])
builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, beam_options=beam_options)
)
print("built", builder.info.splits["train"].num_examples)
"""


def _start(script: str, args: list[str], log_dir, name: str) -> tuple[subprocess.Popen, str]:
    """Starts `python -c script args`, its stdout and stderr in `<log_dir>/<name>.log`."""
    log = os.path.join(log_dir, f"{name}.log")
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=out, stderr=subprocess.STDOUT
        )
    return process, log


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _wait_until(condition, what: str, processes=()) -> None:
    deadline = time.monotonic() + _TIMEOUT
    while not condition():
        for process in processes:
            assert process.poll() is None, f"{what}: process {process.pid} ended first"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _incomplete_dirs(data_dir: str) -> list[str]:
    return glob.glob(os.path.join(data_dir, "imagenet_pi", "high_noise", "incomplete.*"))


def _assert_complete(data_dir: str, sample: fake_data.FakeIlsvrc) -> None:
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    assert builder.is_prepared()
    dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    names = sorted(example["file_name"].decode() for example in tfds.as_numpy(dataset))
    assert names == sorted(sample.train_file_names)
    assert builder.info.splits["validation"].num_examples == len(sample.validation_file_names)
    assert _incomplete_dirs(data_dir) == []


def _killed_build(manual_dir: str, data_dir: str, tmp_path) -> str:
    """Runs a held build, kills it with SIGKILL mid-way; returns the folder it left."""
    started = str(tmp_path / "started")
    held, log = _start(
        _HELD_BUILD, [manual_dir, data_dir, started, str(tmp_path / "never")], tmp_path, "held"
    )
    try:
        _wait_until(lambda: os.path.exists(started), "the held build to start", [held])
    finally:
        held.kill()  # SIGKILL: no finally blocks, no atexit
        held.wait(timeout=_TIMEOUT)
    assert held.returncode == -signal.SIGKILL, _read(log)
    (left,) = _incomplete_dirs(data_dir)
    assert os.listdir(left), "the killed build wrote nothing"
    return left


@pytest.mark.slow
def test_next_build_removes_the_folder_of_a_killed_build_and_says_so(small_sample, tmp_path):
    manual_dir, sample = small_sample
    data_dir = str(tmp_path / "data")
    left = _killed_build(manual_dir, data_dir, tmp_path)

    result = subprocess.run(
        [sys.executable, "-c", _BUILD, manual_dir, data_dir],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"removed {left} (" in result.stderr
    assert "left by a build that was killed" in result.stderr
    _assert_complete(data_dir, sample)


@pytest.mark.slow
def test_beam_build_removes_the_folder_of_a_killed_build(small_sample, tmp_path):
    manual_dir, sample = small_sample
    data_dir = str(tmp_path / "data")
    left = _killed_build(manual_dir, data_dir, tmp_path)

    beam_flags = ["--runner=DirectRunner", "--direct_num_workers=1"]
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, manual_dir, data_dir, *beam_flags],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"removed {left} (" in result.stderr
    _assert_complete(data_dir, sample)


@pytest.mark.slow
def test_second_tfds_build_waits_for_the_first_then_reuses_its_dataset(small_sample, tmp_path):
    manual_dir, sample = small_sample
    data_dir = str(tmp_path / "data")
    started, release = str(tmp_path / "started"), str(tmp_path / "release")
    first, first_log = _start(_HELD_BUILD, [manual_dir, data_dir, started, release], tmp_path, "1")
    second = None
    try:
        _wait_until(lambda: os.path.exists(started), "the first build to start", [first])
        (building,) = _incomplete_dirs(data_dir)
        tfds_command = os.path.join(os.path.dirname(sys.executable), "tfds")
        second_log = str(tmp_path / "2.log")
        with open(second_log, "w") as out:
            second = subprocess.Popen(
                [
                    tfds_command, "build", _CONFIG, "--imports", "imagenet_pi",
                    "--manual_dir", manual_dir, "--data_dir", data_dir,
                ],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_until(
            lambda: f"is being built by process {first.pid} on host" in _read(second_log),
            "the second build to say it waits",
            [first, second],
        )
        # The waiting build has not touched the first one's folder.
        assert _incomplete_dirs(data_dir) == [building]
        open(release, "w").close()
        first.wait(timeout=_TIMEOUT)
        second.wait(timeout=_TIMEOUT)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert first.returncode == 0, _read(first_log)[-3000:]
    assert second.returncode == 0, _read(second_log)[-3000:]
    assert f"was built by process {first.pid} on host" in _read(second_log)
    assert "removed" not in _read(second_log)
    _assert_complete(data_dir, sample)


@pytest.mark.slow
def test_waiting_build_takes_over_when_the_first_is_killed(small_sample, tmp_path):
    manual_dir, sample = small_sample
    data_dir = str(tmp_path / "data")
    started = str(tmp_path / "started")
    first, _ = _start(
        _HELD_BUILD, [manual_dir, data_dir, started, str(tmp_path / "never")], tmp_path, "1"
    )
    second = None
    try:
        _wait_until(lambda: os.path.exists(started), "the first build to start", [first])
        (building,) = _incomplete_dirs(data_dir)
        second, second_log = _start(_BUILD, [manual_dir, data_dir], tmp_path, "2")
        _wait_until(
            lambda: f"is being built by process {first.pid} on host" in _read(second_log),
            "the second build to say it waits",
            [first, second],
        )
        first.kill()  # SIGKILL: the kernel releases its lock
        first.wait(timeout=_TIMEOUT)
        second.wait(timeout=_TIMEOUT)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert second.returncode == 0, _read(second_log)[-3000:]
    assert f"removed {building} (" in _read(second_log)
    _assert_complete(data_dir, sample)


# --- A data_dir shared by several users: builds run as another user (setpriv) ---------------

_OTHER_USER = 65534  # nobody; the tests run as root, whom file modes do not stop


@pytest.fixture
def shared_sample():
    """(manual_dir, data_dir, home) under a folder every user can read, outside pytest's 0700.

    The data_dir's config folder belongs to the other user, as in a data_dir shared by a group.
    """
    base = tempfile.mkdtemp(prefix="imagenet_pi_shared_")
    try:
        os.chmod(base, 0o755)
        manual_dir = os.path.join(base, "manual")
        fake_data.write_sample(manual_dir, configs=["high_noise"], **fake_data.SMALL_SAMPLE)
        home = os.path.join(base, "home")
        config_dir = os.path.join(base, "data", "imagenet_pi", "high_noise")
        os.makedirs(home)
        os.makedirs(config_dir)
        for folder, folders, files in os.walk(base):
            for name in folders:
                os.chmod(os.path.join(folder, name), 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        for path in (home, os.path.join(base, "data"), os.path.dirname(config_dir), config_dir):
            os.chown(path, _OTHER_USER, _OTHER_USER)
        yield manual_dir, os.path.join(base, "data"), home
    finally:
        shutil.rmtree(base)


def _build_as_other_user(manual_dir: str, data_dir: str, home: str):
    return subprocess.run(
        [
            "setpriv", f"--reuid={_OTHER_USER}", f"--regid={_OTHER_USER}", "--clear-groups",
            "--", sys.executable, "-c", _BUILD, manual_dir, data_dir,
        ],
        capture_output=True, text=True, timeout=_TIMEOUT, env={**os.environ, "HOME": home},
    )  # fmt: skip


def _lock_file(data_dir: str) -> str:
    version = str(imagenet_pi.Builder.VERSION)
    return build_lock.lock_path(os.path.join(data_dir, "imagenet_pi", "high_noise", version))


@pytest.mark.slow
def test_lock_file_of_another_user_is_locked_read_only_and_the_build_goes_on(shared_sample):
    manual_dir, data_dir, home = shared_sample
    lock = _lock_file(data_dir)
    with open(lock, "w") as f:  # root's, mode 644: readable, not writable, by the other user
        f.write("process 1 on host elsewhere, since then\n")
    os.chmod(lock, 0o644)
    result = _build_as_other_user(manual_dir, data_dir, home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "built" in result.stdout
    assert tfds.builder(_CONFIG, data_dir=data_dir).is_prepared()
    assert os.stat(lock).st_uid == 0
    assert _read(lock) == "process 1 on host elsewhere, since then\n"


@pytest.mark.slow
def test_lock_file_the_other_user_cannot_read_is_refused_naming_it(shared_sample):
    manual_dir, data_dir, home = shared_sample
    lock = _lock_file(data_dir)
    open(lock, "w").close()
    os.chmod(lock, 0o600)
    result = _build_as_other_user(manual_dir, data_dir, home)
    assert result.returncode != 0
    assert "BuildLockError" in result.stderr, result.stderr[-3000:]
    assert f"cannot open the build lock file {lock} (Permission denied)" in result.stderr
    assert "it is owned by root with mode 600" in result.stderr
    assert f"chmod a+r {lock}" in result.stderr
    assert not tfds.builder(_CONFIG, data_dir=data_dir).is_prepared()


@pytest.mark.slow
def test_lock_file_the_other_user_cannot_create_is_refused_naming_the_folder(shared_sample):
    manual_dir, data_dir, home = shared_sample
    config_dir = os.path.join(data_dir, "imagenet_pi", "high_noise")
    os.chown(config_dir, 0, 0)  # root's, mode 755
    result = _build_as_other_user(manual_dir, data_dir, home)
    assert result.returncode != 0
    assert "BuildLockError" in result.stderr, result.stderr[-3000:]
    expected = f"cannot create the build lock file {_lock_file(data_dir)} (Permission denied)"
    assert expected in result.stderr
    assert f"cannot write in {config_dir}, owned by root with mode 755" in result.stderr
    assert "Build into a data_dir you can write" in result.stderr


@pytest.mark.slow
def test_folder_a_killed_build_of_another_user_left_is_kept_with_a_warning(shared_sample):
    manual_dir, data_dir, home = shared_sample
    version = str(imagenet_pi.Builder.VERSION)
    left = os.path.join(data_dir, "imagenet_pi", "high_noise", f"incomplete.AB12CD_{version}")
    os.mkdir(left, 0o755)  # root's: the other user cannot remove what it holds
    with open(os.path.join(left, "shard"), "wb") as f:
        f.write(b"x" * 1000)
    result = _build_as_other_user(manual_dir, data_dir, home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"cannot remove {left} (0.0 MB), left by a build that was killed" in result.stderr
    assert "it is owned by root with mode 755. Its owner can remove it" in result.stderr
    assert tfds.builder(_CONFIG, data_dir=data_dir).is_prepared()
