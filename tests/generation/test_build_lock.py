"""One build of a config version at a time: the lock, the folders of killed builds it removes,
and builds that go on unlocked where no lock can be taken. Builds held, killed and run as
another user are in tests/end_to_end/test_build_faults.py."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os

import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi.generation import build_lock

_CONFIG = "imagenet_pi/high_noise"


def test_a_lock_nobody_holds_removes_only_incomplete_folders_of_its_version(tmp_path):
    config_dir = tmp_path / "imagenet_pi" / "high_noise"
    ours = config_dir / "incomplete.AB12CD_2.0.0"
    others = [config_dir / "incomplete.AB12CD_1.0.0", config_dir / "2.0.0", config_dir / "x"]
    for folder in [ours, *others]:
        folder.mkdir(parents=True)
        (folder / "shard").write_bytes(b"x" * 10)
    with build_lock.exclusive_build(config_dir / "2.0.0", "imagenet_pi/high_noise/2.0.0") as lock:
        assert lock.locked and lock.waited_for is None
        assert lock.removed == [str(ours)]
    assert not ours.exists()
    assert all(folder.exists() for folder in others)
    assert os.path.exists(build_lock.lock_path(config_dir / "2.0.0"))


def test_without_flock_the_build_goes_on_unlocked_and_removes_nothing(tmp_path, monkeypatch):
    # No filesystem without flock can be mounted here: make flock fail as on one.
    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(build_lock.fcntl, "flock", no_flock)
    left = tmp_path / "imagenet_pi" / "high_noise" / "incomplete.AB12CD_2.0.0"
    left.mkdir(parents=True)
    version_dir = left.parent / "2.0.0"
    with (
        absl_log_capture() as logs,
        build_lock.exclusive_build(version_dir, "imagenet_pi/high_noise/2.0.0") as lock,
    ):
        assert not lock.locked and lock.removed == []
    assert left.exists()
    assert "the filesystem does not support flock" in logs.getvalue()
    assert "delete them when no build runs" in logs.getvalue()


def test_remote_data_dir_is_built_unlocked_with_a_warning():
    version_dir = "gs://bucket/data/imagenet_pi/high_noise/2.0.0"
    with (
        absl_log_capture() as logs,
        build_lock.exclusive_build(version_dir, "imagenet_pi/high_noise/2.0.0") as lock,
    ):
        assert not lock.locked
    assert f"{version_dir} is not a local path, so this build cannot lock it" in logs.getvalue()


@contextlib.contextmanager
def absl_log_capture():
    """The text absl logs while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(handler)
    try:
        yield stream
    finally:
        absl_logger.removeHandler(handler)


def test_preparing_a_built_dataset_again_writes_no_lock_file(built_high_noise, small_sample):
    # A built data_dir may be read-only (shared storage): reusing it must not write into it.
    data_dir, sample = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    lock = build_lock.lock_path(builder.data_path)
    moved = lock + ".moved"
    os.rename(lock, moved)  # left by the fixture's build
    try:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=small_sample[0])
        )
        dataset = tfds.load(_CONFIG, data_dir=data_dir, split="validation", download=True)
        assert len(list(dataset)) == len(sample.validation_file_names)
        assert not os.path.exists(lock)
    finally:
        os.replace(moved, lock)
