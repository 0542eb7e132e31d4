"""One build of a config version at a time in a data_dir, and clean-up after killed builds.

TFDS builds `<data_dir>/imagenet_pi/<config>/<version>/` in a sibling folder
`incomplete.<random>_<version>/` and renames it when done. Two builds at once both write
(the loser dies on the rename), and a build killed with SIGKILL leaves its folder, up to the
size of the dataset, which TFDS never removes. Every build of this package therefore holds
an exclusive `flock` on `<config dir>/<version>.build.lock` while it runs: the kernel
releases it when the process dies, however it dies, so a lock nobody holds proves that the
`incomplete.*_<version>` folders beside it belong to no running build. The lock file
names its holder (pid and host) for the message of a build that has to wait; the pid is
never used to decide anything, since pids are reused.

In a data_dir shared by several users, the lock file belongs to whoever built first. flock
needs no write access on a local filesystem, so a user who cannot write it locks it opened
read-only (and cannot name itself in it; holders that can write clear their name when they
end, so a waiting build never names a holder that has finished).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import pwd
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import tensorflow_datasets as tfds
from absl import logging

from imagenet_pi import errors, internals

LOCK_SUFFIX = ".build.lock"

# What flock raises on filesystems that do not implement it (some FUSE, Lustre without
# -o flock, old NFS clients), and, for a file opened read-only, on NFS, whose client emulates
# flock with POSIX locks that need write access.
_NO_FLOCK_ERRNOS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_READ_ONLY_NO_FLOCK_ERRNOS = _NO_FLOCK_ERRNOS | {errno.EBADF}
# What open() raises for a file or folder of another user (or on a read-only mount).
_NO_ACCESS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


class BuildLockError(errors.ImagenetPiError, PermissionError):
    """The build lock file can be neither opened nor created by this user."""


@dataclasses.dataclass
class BuildLock:
    """What `exclusive_build` found while taking the lock.

    Attributes:
      path: the lock file.
      locked: the lock is held (False on filesystems without flock and on remote paths).
      waited_for: who held it when this build started ("process N on host H"), if anyone.
      removed: the abandoned `incomplete.*` folders removed.
    """

    path: str
    locked: bool
    waited_for: str | None = None
    removed: list[str] = dataclasses.field(default_factory=list)


def lock_path(version_dir: str | os.PathLike) -> str:
    """`<config dir>/<version>.build.lock` for `<config dir>/<version>`."""
    version_dir = os.path.normpath(os.fspath(version_dir))
    return version_dir + LOCK_SUFFIX


@contextlib.contextmanager
def exclusive_build(version_dir: str | os.PathLike, dataset: str) -> Iterator[BuildLock]:
    """Holds the build lock of `version_dir` for the duration of the block.

    If another build holds it, logs who and waits for it to end. Once held, removes the
    `incomplete.*_<version>` folders beside `version_dir` (left by killed builds) and logs
    each. Where flock is not available (remote paths such as gs://, filesystems without
    it), logs a warning and builds without the lock, removing nothing.

    Args:
      version_dir: `<data_dir>/<name>/<config>/<version>`, the folder being built.
      dataset: the dataset's name for messages, e.g. "imagenet_pi/high_noise/2.0.0".

    Yields:
      A `BuildLock`.
    """
    version_dir = os.fspath(version_dir)
    path = lock_path(version_dir)
    if "://" in version_dir:
        logging.warning(
            "%s: %s is not a local path, so this build cannot lock it: two builds of %s into "
            "it at once would fail, and folders of killed builds (incomplete.*) are not "
            "removed.",
            dataset,
            version_dir,
            dataset,
        )
        yield BuildLock(path, locked=False)
        return
    fd, writable = _open_lock_file(path, dataset)
    lock = BuildLock(path, locked=False)
    try:
        lock = _acquire(fd, path, dataset, writable)
        if lock.locked:
            if writable:
                _write_holder(fd)
            else:
                logging.info(
                    "%s: %s is not writable by this user, so it is locked read-only; builds "
                    "that wait for this one cannot see who holds it.",
                    dataset,
                    path,
                )
            lock.removed = _remove_abandoned(version_dir, dataset, path)
        yield lock
    finally:
        if lock.locked and writable:
            os.ftruncate(fd, 0)  # names no holder once this build has ended
        os.close(fd)  # releases the lock; the file stays, removing it would race a waiter


def prepare_once(
    builder: tfds.core.DatasetBuilder,
    download_and_prepare: Callable[..., Any],
    *,
    check_reuse: Callable[[], None] | None = None,
    **kwargs: Any,
) -> None:
    """Runs `download_and_prepare(**kwargs)` of `builder` holding the build lock.

    A build that waited for another build of the same config version reuses its dataset;
    a dataset that is there already and is not to be rebuilt is reused with no lock (its
    data_dir may be read-only). Before either reuse, `check_reuse()` may refuse it.

    Args:
      builder: the builder being prepared.
      download_and_prepare: TFDS's `download_and_prepare` of `builder` (the unlocked one).
      check_reuse: called before a built dataset is reused (download_mode
        REUSE_DATASET_IF_EXISTS); raises to refuse, before anything is written.
      **kwargs: the arguments of `download_and_prepare`.
    """
    download_config = kwargs.get("download_config") or tfds.download.DownloadConfig()
    mode = tfds.download.GenerateMode(download_config.download_mode)
    reuse_check = (
        check_reuse
        if check_reuse is not None and mode == tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
        else lambda: None
    )
    if builder.data_path.exists() and not mode.overwrite_dataset:
        reuse_check()
        download_and_prepare(**kwargs)
        return
    with exclusive_build(builder.data_path, builder.info.full_name) as lock:
        if lock.waited_for is not None and builder.is_prepared() and not mode.overwrite_dataset:
            # The builder was made before that dataset existed: read what was built.
            builder.info.read_from_directory(builder.data_dir)
            reuse_check()
            logging.warning(
                "%s was built by %s while this build waited: reusing %s.",
                builder.info.full_name,
                lock.waited_for,
                builder.data_dir,
            )
        download_and_prepare(**kwargs)


def _open_lock_file(path: str, dataset: str) -> tuple[int, bool]:
    """`(fd, writable)` of the lock file, created if absent; read-only if not writable.

    Raises:
      BuildLockError: the file can be neither opened nor created, naming it, its owner
        and what to do.
    """
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o664), True
    except OSError as error:
        if error.errno not in _NO_ACCESS_ERRNOS:
            raise
        write_error = error
    try:
        return os.open(path, os.O_RDONLY), False
    except OSError as error:
        if error.errno not in _NO_ACCESS_ERRNOS | {errno.ENOENT}:
            raise
    user = _user_name(os.getuid())
    if not os.path.lexists(path):
        existing = folder
        while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        raise BuildLockError(
            f"{dataset}: cannot create the build lock file {path} "
            f"({os.strerror(write_error.errno)}): this user ({user}) cannot write in "
            f"{existing}, {_owner_and_mode(existing)}. Build into a data_dir you can write "
            "(--data_dir, or data_dir= of tfds.builder), or ask the owner to make that folder "
            "writable for your group (chmod g+w)."
        ) from write_error
    raise BuildLockError(
        f"{dataset}: cannot open the build lock file {path} ({os.strerror(write_error.errno)}): "
        f"it is {_owner_and_mode(path)}, and this user ({user}) can neither write nor read "
        f"it. Ask its owner to make it readable (chmod a+r {path}; a build locks it read-only "
        "when it cannot write it), or, when no build of this config runs, remove it; or build "
        "into a data_dir of your own."
    ) from write_error


def _owner_and_mode(path: str) -> str:
    status = os.stat(path)
    return f"owned by {_user_name(status.st_uid)} with mode {status.st_mode & 0o7777:o}"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a name, as in many containers
        return f"uid {uid}"


def _acquire(fd: int, path: str, dataset: str, writable: bool) -> BuildLock:
    no_flock = _NO_FLOCK_ERRNOS if writable else _READ_ONLY_NO_FLOCK_ERRNOS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return BuildLock(path, locked=True)
    except BlockingIOError:
        pass
    except OSError as error:
        if error.errno not in no_flock:
            raise
        logging.warning(
            "%s: cannot lock %s (%s): the filesystem does not support flock%s. Two builds of "
            "%s into this data_dir at once would fail, and folders of killed builds "
            "(incomplete.*) are not removed: delete them when no build runs.",
            dataset,
            path,
            os.strerror(error.errno),
            ""
            if writable
            else " on a file opened read-only (as on NFS), and this user cannot write it",
            dataset,
        )
        return BuildLock(path, locked=False)
    holder = _read_holder(fd)
    logging.warning(
        "%s is being built by %s into %s; waiting for that build to end (lock file %s).",
        dataset,
        holder,
        path.removesuffix(LOCK_SUFFIX),
        path,
    )
    fcntl.flock(fd, fcntl.LOCK_EX)
    return BuildLock(path, locked=True, waited_for=holder)


def _write_holder(fd: int) -> None:
    os.ftruncate(fd, 0)
    holder = f"process {os.getpid()} on host {socket.gethostname()}, since {time.ctime()}\n"
    os.pwrite(fd, holder.encode(), 0)


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 1024, 0).decode(errors="replace").strip()
    # Empty when the holder has just taken the lock and not yet written its name.
    return text or "another process"


def _remove_abandoned(version_dir: str, dataset: str, path: str) -> list[str]:
    """Removes the `incomplete.*_<version>` folders beside `version_dir`: no build owns them."""
    config_dir, version = os.path.split(version_dir)
    pattern = internals.incomplete_dir_pattern(version)
    removed = []
    for entry in sorted(os.scandir(config_dir), key=lambda entry: entry.name):
        if not (pattern.match(entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        size = _size(entry.path)
        try:
            shutil.rmtree(entry.path)
        except OSError as error:  # another user's build left it: the space stays taken
            logging.warning(
                "%s: cannot remove %s (%.1f MB), left by a build that was killed (%s: %s); it "
                "is %s. Its owner can remove it: no build holds %s.",
                dataset,
                entry.path,
                size / 1e6,
                type(error).__name__,
                error,
                _owner_and_mode(entry.path),
                path,
            )
            continue
        logging.warning(
            "%s: removed %s (%.1f MB), left by a build that was killed: no build holds %s.",
            dataset,
            entry.path,
            size / 1e6,
            path,
        )
        removed.append(entry.path)
    return removed


def _size(folder: str) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
