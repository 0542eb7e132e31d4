"""Builder configs for annotation folders of one's own (e.g. written by `imagenet-pi relabel`).

cfg = imagenet_pi.custom_config("/data/my_noise")  # beta, seed from relabel.json: name
builder = tfds.builder("imagenet_pi", config=cfg, data_dir=...)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=...))
ds = tfds.load(f"imagenet_pi/{cfg.name}", data_dir=..., split="train")  # later, by name
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from imagenet_pi import relabel, upstream
from imagenet_pi.annotations import origins
from imagenet_pi.imagenet_pi_dataset_builder import CONFIG_NAME_PATTERN as CONFIG_NAME_PATTERN
from imagenet_pi.imagenet_pi_dataset_builder import ImagenetPiConfig, check_config_name
from imagenet_pi.relabelling import relabel_metadata

# Hex digits of the annotations' sha256 in a derived name: readable, and two relabellings
# (other seed, other predictions) get other names but by a 1 in 4 billion chance.
NAME_DIGEST_LENGTH = 8


def annotations_digest(annotations_dir: str | os.PathLike) -> str:
    """The sha256 (hex) of a config folder's annotation files: each one's path and bytes.

    The five files of the upstream layout (`labels/`, `confidences/` of both splits and
    `annotator_features.csv`), in that order; raises naming any that is missing.
    """
    files = origins.files_in_dir(annotations_dir)
    digest = hashlib.sha256()
    for relpath, path in files.items():
        digest.update(f"{relpath}\0{os.path.getsize(path)}\0".encode())
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def default_name(beta: float, seed: int | Sequence[int] | None, digest: str) -> str:
    """The config name derived from what a folder holds: `beta_0.3_seed1_ab12cd34`.

    Args:
      beta: the relabelling beta (`beta_0.3`).
      seed: the relabelling seed (`seed1`; a sequence `(1, 2)` gives `seed1-2`), or None
        when unknown (left out).
      digest: `annotations_digest` of the folder, of which the first 8 hex digits are kept.
    """
    parts = [f"beta_{_beta_text(beta)}"]
    if seed is not None:
        parts.append("seed" + "-".join(str(s) for s in relabel.seed_entropy(seed)))
    parts.append(digest[:NAME_DIGEST_LENGTH])
    return "_".join(parts)


def _beta_text(beta: float) -> str:
    """beta in a config name: "%g" (`0.3`, `1e-07`) if that is beta itself, else every digit
    (`0.1234567`, which "%g" makes `0.123457`); an exponent without '+' (`1e20`)."""
    text = f"{beta:g}"
    if float(text) != beta:
        text = repr(float(beta))
    return text.replace("e+", "e")


def custom_config(
    annotations_dir: str | os.PathLike,
    name: str | None = None,
    *,
    beta: float | None = None,
    description: str | None = None,
) -> ImagenetPiConfig:
    """A config that builds `imagenet_pi` from a folder in the upstream layout.

    Args:
      annotations_dir: holds `labels/{train,validation}.csv`, `confidences/...` and
        `annotator_features.csv` (what `imagenet-pi relabel --out` writes).
      name: the config name, as in `tfds.load("imagenet_pi/<name>")`; default derived from
        beta, the seed of `relabel.json` and the annotations' content (`default_name`:
        `beta_0.3_seed1_ab12cd34`), so that other seeds or predictions get other names.
      beta: recorded in the dataset's metadata; default the one of the folder's
        `relabel.json` (written by `imagenet-pi relabel`).
      description: shown in the dataset info; default says beta and the folder.

    Returns:
      An `ImagenetPiConfig` for `tfds.builder("imagenet_pi", config=...)`.
    """
    annotations_dir = os.path.abspath(os.fspath(annotations_dir))
    origins.files_in_dir(annotations_dir)  # raises, naming the missing files
    # relabel.json is read only for what was not given: a name and a beta need nothing of it.
    metadata = None
    if beta is None or name is None:
        metadata = relabel_metadata.read_metadata(annotations_dir)
    if beta is None and metadata is not None:
        beta = relabel_metadata.metadata_beta(annotations_dir, metadata)
    if beta is not None:
        beta = relabel.check_beta(beta)
    if name is None:
        if beta is None:
            raise ValueError(_no_beta_message(annotations_dir, metadata))
        seed = relabel_metadata.metadata_seed(annotations_dir, metadata or {})
        name = default_name(beta, seed, annotations_digest(annotations_dir))
    check_config_name(name)
    if name in upstream.NOISE_LEVELS:
        raise ValueError(
            f"name: {name!r} is a released config; a custom one would share its data_dir "
            "folder. Choose another name; to build the released config from local CSVs, put "
            f"them at <manual_dir>/imagenet_pi/{name}/ instead."
        )
    if description is None:
        noise = f"beta = {beta:g}" if beta is not None else "unknown beta"
        description = f"Annotator labels relabelled with {noise}, from {annotations_dir}."
    return ImagenetPiConfig(
        name=name, description=description, beta=beta, annotations_dir=annotations_dir
    )


def _no_beta_message(annotations_dir: str, metadata: dict | None) -> str:
    example = "e.g. custom_config(path, name='my_noise', beta=0.3)"
    if metadata is None:
        return (
            f"{annotations_dir}: has no {relabel_metadata.METADATA_FILE} telling beta; pass a "
            f"name (and beta if known), {example}"
        )
    return (
        f"{os.path.join(annotations_dir, relabel_metadata.METADATA_FILE)}: expected 'beta' (the "
        f"rate `imagenet-pi relabel` drew temperatures with), found the keys "
        f"{sorted(metadata)}; pass a name and beta, {example}"
    )
