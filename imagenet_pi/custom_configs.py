"""Builder configs for annotation folders of one's own (e.g. written by `imagenet-pi relabel`).

cfg = imagenet_pi.custom_config("/data/my_noise")  # beta and name from relabel.json
builder = tfds.builder("imagenet_pi", config=cfg, data_dir=...)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=...))
ds = tfds.load(f"imagenet_pi/{cfg.name}", data_dir=..., split="train")  # later, by name
"""

from __future__ import annotations

import os
import re

from imagenet_pi import annotation_files, relabel, relabel_files, upstream
from imagenet_pi.imagenet_pi_dataset_builder import ImagenetPiConfig

# What `tfds.load("imagenet_pi/<name>")` can parse back: no '/', ':', ',' or '='.
CONFIG_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def default_name(beta: float) -> str:
    """`beta_0.3` for beta = 0.3."""
    return f"beta_{beta:g}"


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
      name: the config name, as in `tfds.load("imagenet_pi/<name>")`; default `beta_<beta>`.
      beta: recorded in the dataset's metadata; default the one of the folder's
        `relabel.json` (written by `imagenet-pi relabel`).
      description: shown in the dataset info; default says beta and the folder.

    Returns:
      An `ImagenetPiConfig` for `tfds.builder("imagenet_pi", config=...)`.
    """
    annotations_dir = os.path.abspath(os.fspath(annotations_dir))
    annotation_files.files_in_dir(annotations_dir)  # raises, naming the missing files
    metadata = relabel_files.read_metadata(annotations_dir) or {}
    if beta is None:
        beta = metadata.get("beta")
    if beta is not None:
        beta = relabel.check_beta(beta)
    if name is None:
        if beta is None:
            raise ValueError(
                f"{annotations_dir}: has no {relabel_files.METADATA_FILE} telling beta; pass a "
                "name (and beta if known), e.g. custom_config(path, name='my_noise', beta=0.3)"
            )
        name = default_name(beta)
    if not CONFIG_NAME_PATTERN.match(name):
        raise ValueError(
            f"name: expected letters, digits, '_', '.' or '-' (a name tfds.load can parse in "
            f"'imagenet_pi/<name>'), found {name!r}"
        )
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
