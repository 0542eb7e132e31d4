"""Where the PI CSVs of a config come from: a folder the user holds, or the upstream LFS URLs.

The result is always a mapping from the upstream relative path (`labels/train.csv`,
..., `annotator_features.csv`) to a local file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from imagenet_pi import upstream

# Relative path in the upstream layout -> local file.
AnnotationFiles = Mapping[str, str]


class AnnotationFilesError(FileNotFoundError):
    """A PI folder was found but does not hold every file of the upstream layout."""


def candidate_dirs(manual_dir: str | os.PathLike, config: str) -> list[str]:
    """Folders of `manual_dir` that may hold a config in the upstream layout, in search order.

    A clone of the upstream repository sits at `<manual_dir>/imagenet_pi`; its
    config folders were once named `more_label_noise` / `less_label_noise`.
    """
    names = [config]
    if config in upstream.NOISE_LEVELS:
        names.append(upstream.NOISE_LEVELS[config].legacy_name)
    roots = [os.path.join(os.fspath(manual_dir), "imagenet_pi"), os.fspath(manual_dir)]
    return [os.path.join(root, name) for root in roots for name in names]


def files_in_dir(config_dir: str | os.PathLike) -> dict[str, str]:
    """The files of a config folder in the upstream layout; raises if any is missing."""
    config_dir = os.fspath(config_dir)
    files = {rel: os.path.join(config_dir, rel) for rel in upstream.config_relpaths()}
    missing = [path for path in files.values() if not os.path.isfile(path)]
    if missing:
        raise AnnotationFilesError(
            f"The ImageNet-PI folder {config_dir} is incomplete: missing {', '.join(missing)}. "
            "Expected labels/{train,validation}.csv, confidences/{train,validation}.csv and "
            f"annotator_features.csv, as in {upstream.REPO_URL} (clone it with git lfs "
            "installed, or run `git lfs pull` in the clone)."
        )
    return files


def find_in_manual_dir(manual_dir: str | os.PathLike | None, config: str) -> str | None:
    """The first candidate folder of `manual_dir` that exists, or None."""
    if manual_dir is None or not os.path.isdir(manual_dir):
        return None
    for path in candidate_dirs(manual_dir, config):
        if os.path.isdir(path):
            return path
    return None


def upstream_urls(config: str) -> dict[str, str]:
    """Relative path -> LFS URL for a released config (`high_noise` or `low_noise`)."""
    if config not in upstream.NOISE_LEVELS:
        raise ValueError(
            f"Only the released configs {sorted(upstream.NOISE_LEVELS)} can be downloaded; "
            f"{config!r} needs an annotations folder (see `imagenet-pi relabel`)."
        )
    return {rel: upstream.lfs_url(config, rel) for rel in upstream.config_relpaths()}


def resolve(
    config: str,
    *,
    annotations_dir: str | os.PathLike | None,
    manual_dir: str | os.PathLike | None,
    download: Callable[[dict[str, str]], Mapping[str, os.PathLike | str]],
) -> tuple[AnnotationFiles, str]:
    """Finds the PI files of `config`; returns them and a description of their source.

    Order: an explicit `annotations_dir`, then a folder in `manual_dir`, then
    `download(relpath -> url)` (the TFDS download manager, which checks the pinned
    sizes and sha256 of `checksums.tsv`).
    """
    if annotations_dir is not None:
        return files_in_dir(annotations_dir), os.fspath(annotations_dir)
    found = find_in_manual_dir(manual_dir, config)
    if found is not None:
        return files_in_dir(found), found
    urls = upstream_urls(config)
    downloaded = download(urls)
    return {
        rel: os.fspath(path) for rel, path in downloaded.items()
    }, f"{upstream.LFS_URL_ROOT}/{config}"
