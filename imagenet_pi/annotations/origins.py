"""The origin of a config's PI CSVs: a folder the user holds, or the upstream LFS URLs.

Search order (README, "2. The ImageNet-PI CSVs"):
1. the config's own `annotations_dir` (custom configs);
2. a config folder in the manual_dir: a clone at `<manual_dir>/imagenet_pi/<config>/`, or
   `<manual_dir>/<config>/` (old folder names accepted);
3. TFDS's own imagenet_pi layout: `<manual_dir>/labels/` and `<manual_dir>/confidences/`,
   with no config folder; the files are identified as a released config by the sizes and
   sha256 pinned in checksums.tsv;
4. a download of the pinned URLs.

The result is always a mapping from the upstream relative path (`labels/train.csv`,
..., `annotator_features.csv`) to a local file, and the origin in words (recorded in a
build's metadata as `annotations_source`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from imagenet_pi import errors, upstream
from imagenet_pi.annotations.releases import (
    PinnedFile,
    PinnedFiles,
    identify_release,
    not_downloadable,
    sha256_of,
)
from imagenet_pi.paths import MISSING, not_a_file

# Relative path in the upstream layout -> local file.
AnnotationFiles = Mapping[str, str]

_FLAT_DIRS = ("labels", "confidences")


class AnnotationFilesError(errors.ImagenetPiError, FileNotFoundError):
    """A PI folder (or TFDS's layout) was found but does not hold every file it needs."""


class FlatLayoutError(errors.ImagenetPiError, ValueError):
    """TFDS's imagenet_pi layout in the manual_dir is not the released config being built."""


class CsvDownloadError(errors.ImagenetPiError, ConnectionError):
    """The CSVs had to be downloaded and could not be (no network, HTTP 403, ...)."""


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
    """The files of a config folder in the upstream layout; raises naming each one not there."""
    config_dir = os.fspath(config_dir)
    files = {rel: os.path.join(config_dir, rel) for rel in upstream.config_relpaths()}
    problems = {path: not_a_file(path) for path in files.values()}
    problems = {path: what for path, what in problems.items() if what is not None}
    if not problems:
        return files
    missing = [path for path, what in problems.items() if what == MISSING]
    others = [f"{path} {what}" for path, what in problems.items() if what != MISSING]
    found = "; ".join(others + ([f"missing {', '.join(missing)}"] if missing else []))
    fix = (
        "Put each CSV file itself in its place (a folder named like the file, as some "
        "unzipping tools make, holds it one level too deep). "
        if others
        else ""
    )
    raise AnnotationFilesError(
        f"The ImageNet-PI folder {config_dir} is incomplete: {found}. {fix}"
        "Expected labels/{train,validation}.csv, confidences/{train,validation}.csv and "
        f"annotator_features.csv, as in {upstream.REPO_URL} (clone it with git lfs "
        "installed, or run `git lfs pull` in the clone)."
    )


def find_in_manual_dir(manual_dir: str | os.PathLike | None, config: str) -> str | None:
    """The first candidate folder of `manual_dir` that exists, or None."""
    if manual_dir is None or not os.path.isdir(manual_dir):
        return None
    for path in candidate_dirs(manual_dir, config):
        if os.path.isdir(path):
            return path
    return None


def flat_layout_files(manual_dir: str | os.PathLike | None) -> dict[str, str] | None:
    """The four CSVs of TFDS's imagenet_pi layout (`<manual_dir>/labels/train.csv`, ...).

    Returns:
      Relative path -> file, or None when `manual_dir` has neither `labels` nor
      `confidences`.

    Raises:
      AnnotationFilesError: one of them is there but not all four files are.
    """
    if manual_dir is None:
        return None
    manual_dir = os.fspath(manual_dir)
    if not any(os.path.exists(os.path.join(manual_dir, name)) for name in _FLAT_DIRS):
        return None
    files = {rel: os.path.join(manual_dir, rel) for rel in upstream.split_csv_relpaths()}
    problems = {rel: not_a_file(path) for rel, path in files.items()}
    found = [rel for rel, what in problems.items() if what is None]
    if len(found) == len(files):
        return files
    missing = [rel for rel, what in problems.items() if what == MISSING]
    not_files = [f"{rel} {what}" for rel, what in problems.items() if what not in (None, MISSING)]
    others = [
        f"{name}/{entry}"
        for name in _FLAT_DIRS
        if os.path.isdir(os.path.join(manual_dir, name))
        for entry in sorted(os.listdir(os.path.join(manual_dir, name)))
        if f"{name}/{entry}" not in files
    ]
    raise AnnotationFilesError(
        f"TFDS's imagenet_pi layout in {manual_dir} is incomplete: found "
        f"{', '.join(found) or 'none of its CSVs'}"
        + "".join(f"; {problem}" for problem in not_files)
        + (f"; missing {', '.join(missing)}" if missing else "")
        + (f" (other entries there: {', '.join(others)})" if others else "")
        + ". It needs labels/train.csv, labels/validation.csv, confidences/train.csv and "
        "confidences/validation.csv, all four of one released version. "
        + ("Put each CSV file itself in its place" if not_files else "Add the missing ones")
        + f", or move {' and '.join(f'{name}/' for name in _FLAT_DIRS)} out of the manual_dir to "
        "use a clone or the download instead (imagenet_pi docs, docs/annotations.md, "
        '"Coming from TFDS\'s imagenet_pi").'
    )


def local_options(manual_dir: str | os.PathLike | None, config: str) -> str:
    """The three ways to provide the CSVs of `config` by hand, for messages."""
    where = os.fspath(manual_dir) if manual_dir is not None else "<manual_dir>"
    return (
        f"  1. a clone with git lfs at {os.path.join(where, 'imagenet_pi')}/ (git lfs install && "
        f"git clone {upstream.REPO_URL} {os.path.join(where, 'imagenet_pi')});\n"
        f"  2. a config folder {os.path.join(where, config)}/ holding labels/{{train,validation}}"
        ".csv, confidences/{train,validation}.csv and annotator_features.csv;\n"
        f"  3. TFDS's imagenet_pi layout: {os.path.join(where, 'labels')}/{{train,validation}}.csv "
        f"and {os.path.join(where, 'confidences')}/{{train,validation}}.csv, with "
        "annotator_features.csv beside them.\n"
        'See the imagenet_pi docs, docs/annotations.md, "The ImageNet-PI CSVs".'
    )


def resolve(
    config: str,
    *,
    annotations_dir: str | os.PathLike | None,
    manual_dir: str | os.PathLike | None,
    pinned: PinnedFiles,
    download: Callable[[dict[str, str]], Mapping[str, os.PathLike | str]],
) -> tuple[AnnotationFiles, str]:
    """Finds the PI files of `config`; returns them and their origin, in words.

    Args:
      config: the config being built.
      annotations_dir: the config's own folder (custom configs), searched first.
      manual_dir: searched next (see the module docstring).
      pinned: the released files (`releases.pinned_files`): what the flat layout is checked
        against and what is downloaded.
      download: relative path -> URL to relative path -> local file, checking the pinned
        sizes and sha256 (`download.download`); raises ConnectionError on failure.

    Raises:
      AnnotationFilesError, FlatLayoutError: the local files are incomplete or another config.
      CsvDownloadError: the files had to be downloaded and could not be.
    """
    if annotations_dir is not None:
        return files_in_dir(annotations_dir), os.fspath(annotations_dir)
    found = find_in_manual_dir(manual_dir, config)
    if found is not None:
        return files_in_dir(found), found
    flat = flat_layout_files(manual_dir)
    if flat is not None:
        return _from_flat_layout(os.fspath(manual_dir), config, flat, pinned, download)
    if config not in pinned:
        raise not_downloadable(config, pinned)
    urls = {rel: pin.url for rel, pin in pinned[config].items()}
    try:
        downloaded = download(urls)
    except ConnectionError as error:
        raise CsvDownloadError(
            f"Could not download the ImageNet-PI CSVs of {config} ({error}). Without network, "
            "or when GitHub refuses the download (HTTP 403: the repository is over its LFS "
            "data quota), provide the CSVs by hand in one of three ways, and nothing is "
            f"downloaded:\n{local_options(manual_dir, config)}"
        ) from error
    root = os.path.dirname(os.path.dirname(urls[upstream.csv_relpath("labels", "train")]))
    return {rel: os.fspath(path) for rel, path in downloaded.items()}, root


def _from_flat_layout(
    manual_dir: str,
    config: str,
    csvs: dict[str, str],
    pinned: PinnedFiles,
    download: Callable[[dict[str, str]], Mapping[str, os.PathLike | str]],
) -> tuple[dict[str, str], str]:
    """The files of `config` from TFDS's imagenet_pi layout, once identified as `config`'s."""
    match = identify_release(csvs, pinned)
    if match.config is not None and match.config != config:
        other = match.config
        raise FlatLayoutError(
            f"The CSVs of TFDS's imagenet_pi layout in {manual_dir} (labels/, confidences/) "
            f"are {other}'s: their sizes and sha256 match the released files of {other}, not "
            f"of {config}, the config being built. Build imagenet_pi/{other} to use them. To "
            f"build {config}, put its files at {os.path.join(manual_dir, 'imagenet_pi', config)}"
            f"/ or {os.path.join(manual_dir, config)}/ (searched before labels/ and "
            f"confidences/), or move labels/ and confidences/ into "
            f"{os.path.join(manual_dir, other)}/ to let the builder download {config}'s."
        )
    if match.config is None:
        findings = "; ".join(f"{rel}: {finding}" for rel, finding in match.findings.items())
        raise FlatLayoutError(
            f"The CSVs of TFDS's imagenet_pi layout in {manual_dir} are not a released version "
            f"of ImageNet-PI, so they cannot build the released config {config}: {findings}. "
            "Released configs build only from the released files, whose sizes and sha256 are "
            "pinned in checksums.tsv: if these are a damaged or partial copy, get them again. "
            "For annotations of your own, put the four CSVs and an annotator_features.csv in "
            "a folder and build a custom config, imagenet_pi.custom_config(<folder>, name=..., "
            'beta=...) (imagenet_pi docs, docs/noise-levels.md, "Any noise level").'
        )
    features_pin = pinned[config][upstream.ANNOTATOR_FEATURES_RELPATH]
    features = _local_annotator_features(manual_dir, features_pin)
    if features is None:
        try:
            downloaded = download({upstream.ANNOTATOR_FEATURES_RELPATH: features_pin.url})
        except ConnectionError as error:
            raise CsvDownloadError(
                f"Could not download annotator_features.csv ({error}). The CSVs of TFDS's "
                f"imagenet_pi layout in {manual_dir} are {config}'s, but that layout has no "
                "annotator_features.csv and none was found beside them or in a clone. Put the "
                f"released file ({features_pin.size} bytes, the same for both configs: "
                f"{features_pin.url}) at "
                f"{os.path.join(manual_dir, upstream.ANNOTATOR_FEATURES_RELPATH)}, or a clone "
                f"with git lfs at {os.path.join(manual_dir, 'imagenet_pi')}/."
            ) from error
        features = os.fspath(downloaded[upstream.ANNOTATOR_FEATURES_RELPATH])
    files = {**csvs, upstream.ANNOTATOR_FEATURES_RELPATH: features}
    return files, f"{manual_dir} (TFDS's imagenet_pi layout: the released {config} files)"


def _local_annotator_features(manual_dir: str, pin: PinnedFile) -> str | None:
    """The released annotator_features.csv beside the flat layout or in a clone, or None.

    It is the same file in every released config, so any config folder's copy serves.
    """
    candidates = [os.path.join(manual_dir, upstream.ANNOTATOR_FEATURES_RELPATH)] + [
        os.path.join(folder, upstream.ANNOTATOR_FEATURES_RELPATH)
        for config in upstream.NOISE_LEVELS
        for folder in candidate_dirs(manual_dir, config)
    ]
    for path in candidates:
        what = not_a_file(path)
        if what == MISSING:
            continue
        if what is not None:
            raise FlatLayoutError(
                f"{path} {what}; expected the released annotator_features.csv ({pin.size} "
                f"bytes, {pin.url}). Put the file itself there, or remove {path} to let the "
                "builder download it."
            )
        size, digest = os.path.getsize(path), sha256_of(path)
        if (size, digest) != (pin.size, pin.sha256):
            raise FlatLayoutError(
                f"{path} is not the released annotator_features.csv: expected {pin.size} bytes "
                f"with sha256 {pin.sha256} (the same file in both configs), found {size} bytes "
                f"with sha256 {digest}. Replace it with the released file ({pin.url}), or "
                "remove it to let the builder download it."
            )
        return path
    return None
