"""What a build of imagenet_pi was made from: recorded in its metadata, compared on reuse.

TFDS takes a config name and version for the identity of a dataset: a second
`download_and_prepare` (or `tfds build`) of a name that is built in the data_dir reuses the
build, whatever it was made from. Two things a name does not say decide what a build of
imagenet_pi holds:

- `max_examples_per_split` (a debug build holds the first N examples of each split);
- the annotation files (a custom config's name says nothing of the CSVs behind it, and
  `imagenet-pi relabel` at another seed writes other CSVs for the same beta).

So every build records its `BuildInputs` in its metadata, and a later request to build the
same name reuses the build only if it asks for the same inputs; otherwise it is refused
before anything is written (`BuildInputsError`), naming both and what to do. Readers of a
debug build get one `PartialBuildWarning`.

The images are not compared: they are ILSVRC2012 wherever they are read from, and the
source's description names a path that may change between two builds of the same data.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from absl import logging

from imagenet_pi import errors, upstream

if TYPE_CHECKING:
    from imagenet_pi.annotations import releases

# The writer's side (annotations.origins, relabelling.relabel_metadata) is imported in the
# functions that compute what a build asks for: readers, which only check what a build
# recorded (`warn_if_partial`), never load it.

# Metadata keys of what a build was made from (beside "beta" and "annotations_source").
MAX_EXAMPLES_KEY = "max_examples_per_split"
ANNOTATIONS_SHA256_KEY = "annotations_sha256"
RELABEL_SEED_KEY = "relabel_seed"


class BuildInputsError(errors.ImagenetPiError, ValueError):
    """A build of this name exists in the data_dir, made from other inputs than asked for."""


class PartialBuildWarning(UserWarning):
    """A reader opened a debug build, made with `max_examples_per_split`.

    `warnings.simplefilter("error", PartialBuildWarning)` turns it into a refusal.
    """


@dataclasses.dataclass(frozen=True)
class BuildInputs:
    """What a build is made from, as far as it decides its examples.

    Attributes:
      max_examples_per_split: the cap of a debug build; None for the full dataset.
      beta: the config's beta (None when unknown, for a custom config).
      annotations_sha256: relative path in the upstream layout (`labels/train.csv`, ...,
        `annotator_features.csv`) -> hex sha256 of the file. None in a request that names
        no annotation files (a released config with no manual_dir, as `tfds.load` asks).
      annotations_source: where the annotation files are (a folder or the upstream URL).
      relabel_seed: the seed of `imagenet-pi relabel`, from the folder's relabel.json; None
        when unknown (the released configs, folders written otherwise).
    """

    max_examples_per_split: int | None
    beta: float | None
    annotations_sha256: Mapping[str, str] | None
    annotations_source: str | None
    relabel_seed: int | None = None

    def metadata(self) -> dict[str, Any]:
        """The metadata entries that record these inputs in a build."""
        return {
            MAX_EXAMPLES_KEY: self.max_examples_per_split,
            "beta": self.beta,
            ANNOTATIONS_SHA256_KEY: dict(self.annotations_sha256 or {}),
            "annotations_source": self.annotations_source,
            RELABEL_SEED_KEY: self.relabel_seed,
        }

    def annotations_description(self) -> str:
        """The annotation files in words, for messages."""
        seed = f" (relabel seed {self.relabel_seed})" if self.relabel_seed is not None else ""
        return f"{self.annotations_source}{seed}"


def recorded_inputs(metadata: Mapping[str, Any]) -> BuildInputs | None:
    """The inputs recorded in a build's metadata; None for builds that did not record them.

    Args:
      metadata: `builder.info.metadata` of a built config.
    """
    # `items()`: TFDS reads the metadata of a build opened from its files on first use.
    recorded = dict(metadata.items())
    if ANNOTATIONS_SHA256_KEY not in recorded:
        return None
    return BuildInputs(
        max_examples_per_split=recorded.get(MAX_EXAMPLES_KEY),
        beta=recorded.get("beta"),
        annotations_sha256=recorded[ANNOTATIONS_SHA256_KEY],
        annotations_source=recorded.get("annotations_source"),
        relabel_seed=recorded.get(RELABEL_SEED_KEY),
    )


def check_max_examples_per_split(value: object, *, on_beam: bool = False) -> int | None:
    """`value` if it is a valid `max_examples_per_split` (an int >= 1, or None); else raises.

    TFDS takes 0 to mean "run `_split_generators` only" and leaves a dataset folder with no
    splits that looks finished; a negative value fails deep inside the writer; on Beam, TFDS
    ignores the cap and builds the full dataset.

    Raises:
      ValueError: naming the flag, the valid range and the value found.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            "max_examples_per_split (--max_examples_per_split): expected an integer >= 1, the "
            "examples of each split of a debug build, or none for the full dataset; found "
            f"{value!r}. Nothing was built."
        )
    if on_beam:
        raise ValueError(
            f"max_examples_per_split (--max_examples_per_split) is {value}, but TFDS does not "
            "apply it on Beam: the full dataset would be built. Build a debug build without "
            "Beam options (or a runner); nothing was built."
        )
    return int(value)  # recorded in JSON metadata: a numpy integer would not serialise


def annotation_digests(files: Mapping[str, str]) -> dict[str, str]:
    """Relative path -> hex sha256 of each annotation file (about 0.4 s for 593 MB)."""
    from imagenet_pi.annotations import releases

    return {rel: releases.sha256_of(path) for rel, path in sorted(files.items())}


def relabel_seed(annotations_dir: str | os.PathLike | None) -> int | None:
    """The seed in `<annotations_dir>/relabel.json` (written by `imagenet-pi relabel`), or None."""
    from imagenet_pi.relabelling import relabel_metadata

    if annotations_dir is None:
        return None
    seed = (relabel_metadata.read_metadata(annotations_dir) or {}).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


class _WouldDownload(Exception):
    """Raised by `requested_inputs` where a build would download the released files."""


def _would_download(urls: Mapping[str, str]) -> Mapping[str, str]:
    raise _WouldDownload(urls)


def requested_inputs(
    config: Any,
    *,
    manual_dir: str | os.PathLike | None,
    max_examples_per_split: int | None,
    pinned: releases.PinnedFiles,
) -> BuildInputs:
    """What a build of `config` would be made from now, found without downloading anything.

    The annotation files are those the build would use: a custom config's folder, or the
    CSVs of a released config found in `manual_dir` (hashed), else the released files it
    would download (their sha256 pinned in checksums.tsv). A request for a released config
    that names no manual_dir names no annotation files (`annotations_sha256` None).

    Args:
      config: the `ImagenetPiConfig` asked for.
      manual_dir: the manual_dir of the request (`DownloadConfig.manual_dir`), or None.
      max_examples_per_split: the request's cap, or None.
      pinned: the released files (`releases.pinned_files`).

    Raises:
      The errors of `origins.resolve` for files that are there but unusable.
    """
    from imagenet_pi.annotations import origins

    beta = config.beta
    if config.annotations_dir is None and manual_dir is None:
        return BuildInputs(max_examples_per_split, beta, None, None)
    try:
        files, source = origins.resolve(
            config.name,
            annotations_dir=config.annotations_dir,
            manual_dir=manual_dir,
            pinned=pinned,
            download=_would_download,
        )
    except _WouldDownload:
        # Downloads are checked against these sums, and TFDS's layout is identified by them.
        digests = {rel: pin.sha256 for rel, pin in sorted(pinned[config.name].items())}
        source = f"the released {config.name} files (their sha256 pinned in checksums.tsv)"
        return BuildInputs(max_examples_per_split, beta, digests, source)
    return BuildInputs(
        max_examples_per_split,
        beta,
        annotation_digests(files),
        source,
        relabel_seed(config.annotations_dir),
    )


def check_reuse(
    dataset: str,
    version_dir: str | os.PathLike,
    metadata: Mapping[str, Any],
    requested: BuildInputs,
) -> None:
    """Raises `BuildInputsError` unless the build at `version_dir` was made from `requested`.

    Args:
      dataset: the dataset's name for messages, e.g. "imagenet_pi/high_noise/3.0.0".
      version_dir: the build's folder.
      metadata: its metadata (`builder.info.metadata`).
      requested: what the request asks for (`requested_inputs`).
    """
    recorded = recorded_inputs(metadata)
    if recorded is None:
        logging.warning(
            "%s in data_dir %s was built by an earlier version of imagenet_pi, which did not "
            "record what it was built from: reusing it unchecked. Rebuild it (tfds build "
            "--overwrite) to have later builds checked against it.",
            dataset,
            _data_dir_of(version_dir),
        )
        return
    differences = _differences(recorded, requested)
    if not differences:
        return
    raise BuildInputsError(
        f"{dataset} in data_dir {_data_dir_of(version_dir)} was built from other inputs than "
        f"asked for, so it is not reused: {'; '.join(differences.values())}. "
        + _what_to_do(version_dir, recorded, differences)
    )


def check_read(builder: Any) -> None:
    """Raises `BuildInputsError` when a reader's config names other CSVs than its build's.

    A custom config object read with `tfds.load` or `as_dataset` names its folder; a build
    of its name made from another folder, or from other CSVs, is not read under it. A build
    opened by name (a released config, or `tfds.load("imagenet_pi/<name>")`) names no
    annotation files: nothing to compare.
    """
    from imagenet_pi.annotations import origins

    config = builder.builder_config
    if getattr(config, "annotations_dir", None) is None:
        return
    recorded = recorded_inputs(builder.info.metadata)
    if recorded is None:
        return
    try:
        requested = requested_inputs(
            config,
            manual_dir=None,
            max_examples_per_split=recorded.max_examples_per_split,  # reading asks for none
            pinned={},  # a folder of one's own: nothing is downloaded
        )
    except origins.AnnotationFilesError:
        return  # the folder is gone since the build: nothing to compare, the build is read
    check_reuse(builder.info.full_name, builder.data_dir, builder.info.metadata, requested)


def _differences(recorded: BuildInputs, requested: BuildInputs) -> dict[str, str]:
    """What differs, in words, by the name of the input."""
    differences = {}
    if recorded.max_examples_per_split != requested.max_examples_per_split:
        differences[MAX_EXAMPLES_KEY] = (
            f"max_examples_per_split: built with {_cap(recorded.max_examples_per_split)}, asked "
            f"for {_cap(requested.max_examples_per_split)}"
        )
    if recorded.beta != requested.beta:
        differences["beta"] = f"beta: built with {recorded.beta}, asked for {requested.beta}"
    built_sums = dict(recorded.annotations_sha256 or {})
    asked_sums = requested.annotations_sha256
    changed = (
        sorted(
            rel
            for rel in built_sums.keys() | asked_sums.keys()
            if built_sums.get(rel) != asked_sums.get(rel)
        )
        if asked_sums is not None
        else []
    )
    seeds = (recorded.relabel_seed, requested.relabel_seed)
    if changed or (None not in seeds and seeds[0] != seeds[1]):
        differences["annotations"] = (
            f"annotations: built from {recorded.annotations_description()}, asked for "
            f"{requested.annotations_description()}"
            + (f"; their {', '.join(changed)} differ (sha256)" if changed else "")
        )
    return differences


def _cap(max_examples_per_split: int | None) -> str:
    if max_examples_per_split is None:
        return "none (the full dataset)"
    return f"{max_examples_per_split} (a debug build)"


def _what_to_do(
    version_dir: str | os.PathLike, recorded: BuildInputs, differences: Mapping[str, str]
) -> str:
    steps = []
    if MAX_EXAMPLES_KEY in differences:
        cap = recorded.max_examples_per_split
        if cap is not None:
            steps.append(
                f"To use the debug build, pass --max_examples_per_split {cap} "
                f"(max_examples_per_split={cap}), or read it as it is (tfds.load reads a built "
                "dataset without building it)."
            )
        else:
            steps.append(
                "To keep the full build, build the debug one into another data_dir, or slice "
                "the full one when loading (split='train[:N]')."
            )
    if differences.keys() - {MAX_EXAMPLES_KEY}:
        steps.append(
            "To keep both, build this one under another config name (custom_config(<folder>, "
            'name=...), or another "name" in --config), or into another data_dir.'
        )
    steps.append(
        "To replace it, rebuild it: tfds build --overwrite (in Python download_mode="
        "tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS in the DownloadConfig), or delete "
        f"{version_dir} first."
    )
    return " ".join(steps)


def _data_dir_of(version_dir: str | os.PathLike) -> str:
    """`<data_dir>` of `<data_dir>/<dataset>/<config>/<version>`."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.fspath(version_dir).rstrip("/"))))


def warn_if_partial(builder: Any) -> None:
    """Warns once (`PartialBuildWarning`) when `builder`'s build is a debug build.

    Called by every reader of a build (`built_datasets.open_built`, the builder's
    `as_dataset` and `as_data_source`): one line that names the build and the flag.
    """
    recorded = recorded_inputs(builder.info.metadata)
    if recorded is None or recorded.max_examples_per_split is None:
        return
    sizes = ", ".join(
        f"{split.num_examples} {name}" for name, split in sorted(builder.info.splits.items())
    )
    name = builder.info.full_name
    data_dir = _data_dir_of(builder.data_dir)
    config = name.rsplit("/", 1)[0]
    if builder.builder_config.name in upstream.NOISE_LEVELS:
        command = (
            f"tfds build {config} --imports imagenet_pi --manual_dir <manual_dir> "
            f"--data_dir {data_dir} --overwrite"
        )
    else:  # a custom config: its --config JSON (or custom_config) is the user's
        command = "the command that built it, with --overwrite"
    # The same text warns once a process (the default filter), whichever reader asks.
    warnings.warn(
        PartialBuildWarning(
            f"{name} in data_dir {data_dir} is a debug build, made with max_examples_per_split="
            f"{recorded.max_examples_per_split}: it holds {sizes} examples, not the full "
            f"dataset. To train or evaluate, build it in full: {command} (without "
            "--max_examples_per_split)."
        ),
        stacklevel=1,
    )
