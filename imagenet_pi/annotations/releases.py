"""The released annotation files: where each is downloaded from, its size and sha256.

checksums.tsv pins every file of the released configs (`high_noise`, `low_noise`); TFDS
loads it as the builder's `url_infos`. Files found in the manual_dir are identified as a
released config by their sizes, then their sha256 (`identify_release`), so that a damaged
or edited copy of the right size never builds a released config.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from imagenet_pi import upstream


@dataclasses.dataclass(frozen=True)
class PinnedFile:
    """Where a released file is downloaded from, and its size and sha256 (checksums.tsv)."""

    url: str
    size: int
    sha256: str


# Released config -> relative path -> its pinned file.
PinnedFiles = Mapping[str, Mapping[str, PinnedFile]]


def pinned_files(
    url_infos: Mapping[str, Any] | None, url_root: str = upstream.LFS_URL_ROOT
) -> dict[str, dict[str, PinnedFile]]:
    """The pinned file of every released config and relative path.

    Args:
      url_infos: URL -> an object with `size` and `checksum` (sha256): checksums.tsv as
        TFDS loads it (`Builder.url_infos`).
      url_root: the URLs are `<url_root>/<config>/<relative path>`.

    Raises:
      ValueError: a released file has no entry (a broken installation).
    """
    url_infos = url_infos or {}
    pins: dict[str, dict[str, PinnedFile]] = {}
    missing = []
    for config in upstream.NOISE_LEVELS:
        pins[config] = {}
        for relpath, url in upstream_urls(config, url_root).items():
            if url not in url_infos:
                missing.append(url)
                continue
            info = url_infos[url]
            pins[config][relpath] = PinnedFile(url, int(info.size), info.checksum)
    if missing:
        raise ValueError(
            f"checksums.tsv: expected a size and sha256 for every released file, found none for "
            f"{', '.join(missing)}. Reinstall imagenet_pi (the file ships with the package)."
        )
    return pins


def upstream_urls(config: str, url_root: str = upstream.LFS_URL_ROOT) -> dict[str, str]:
    """Relative path -> URL of every file of a released config (`high_noise` or `low_noise`)."""
    if config not in upstream.NOISE_LEVELS:
        raise not_downloadable(config, upstream.NOISE_LEVELS)
    return {rel: upstream.lfs_url(config, rel, url_root) for rel in upstream.config_relpaths()}


def not_downloadable(config: str, released: Iterable[str]) -> ValueError:
    return ValueError(
        f"Only the released configs {sorted(released)} can be downloaded; "
        f"{config!r} needs an annotations folder (see `imagenet-pi relabel`)."
    )


@dataclasses.dataclass(frozen=True)
class ReleaseMatch:
    """What a set of files is, compared with the pinned released files.

    Attributes:
      config: the released config whose pinned files these all are (size and sha256),
        or None.
      findings: relative path -> what that file is, in words, for messages.
    """

    config: str | None
    findings: dict[str, str]


def identify_release(files: Mapping[str, str], pinned: PinnedFiles) -> ReleaseMatch:
    """Which released config `files` (relative path -> local file) are.

    Sizes first: they differ between the configs, so a size that matches no pinned file
    settles the question without reading anything. Only when the sizes of all files agree
    with a config are the files hashed (about 3 s for the 592 MB of a config's CSVs, beside
    15 s to parse them: benchmarks/flat_layout.py), so that a damaged or edited copy of the
    right size never builds a released config.
    """
    sizes = {rel: os.path.getsize(path) for rel, path in files.items()}
    size_matches = {
        rel: [c for c, pins in pinned.items() if rel in pins and pins[rel].size == size]
        for rel, size in sizes.items()
    }
    agreeing = [c for c in pinned if files and all(c in cs for cs in size_matches.values())]
    if not agreeing:
        return ReleaseMatch(
            None,
            {rel: _size_finding(files[rel], sizes[rel], size_matches[rel]) for rel in files},
        )
    digests = {rel: sha256_of(path) for rel, path in files.items()}
    for config in agreeing:
        if all(digests[rel] == pinned[config][rel].sha256 for rel in files):
            return ReleaseMatch(config, {rel: f"{config}'s" for rel in files})
    config = agreeing[0]
    findings = {
        rel: f"{config}'s"
        if digests[rel] == pinned[config][rel].sha256
        else (
            f"{sizes[rel]} bytes like {config}'s, but sha256 {digests[rel]} instead of "
            f"{pinned[config][rel].sha256} (damaged or edited)"
        )
        for rel in files
    }
    return ReleaseMatch(None, findings)


def sha256_of(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks (about 1.5 GB/s).

    Hashed once a process while the file stays as it is: a build both identifies the files
    it reads (`identify_release`) and records their sums (`build_identity`).
    """
    path = os.path.realpath(path)
    stat = os.stat(path)
    changed_ns = max(stat.st_mtime_ns, stat.st_ctime_ns)
    if time.time_ns() - changed_ns < _JUST_CHANGED_NS:
        # It may change again within the same timestamp: never remembered.
        return _sha256_of_file(path)
    return _remembered_sha256(path, stat.st_ino, stat.st_size, changed_ns)


# Filesystem timestamps tick every few milliseconds; a file changed within this is hashed
# afresh every time.
_JUST_CHANGED_NS = 2_000_000_000


def _sha256_of_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _remembered_sha256(path: str, *version: int) -> str:
    return _sha256_of_file(path)


def _size_finding(path: str, size: int, configs: list[str]) -> str:
    if configs:
        return f"{size} bytes, the size of {' and '.join(configs)}'s"
    with open(path, "rb") as f:
        if f.read(len(upstream.LFS_POINTER_PREFIX)) == upstream.LFS_POINTER_PREFIX:
            return (
                f"a Git LFS pointer ({size} bytes), not the data: run `git lfs pull` in its clone"
            )
    return f"{size} bytes, the size of no released file"
