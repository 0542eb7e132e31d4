"""`relabel.json`: how `imagenet-pi relabel` made a config folder.

Beside the upstream CSVs, a config folder written by `imagenet-pi relabel` holds
`relabel.json`: beta, seed, models (column order), splits, from_logits, predictions_dir. It
is written last, so a folder that has one is complete. Readers of one field (`stats`,
`custom_configs`, `build_identity`) import this module, not the relabelling code.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from imagenet_pi.relabelling import temperature_sampling
from imagenet_pi.relabelling.errors import RelabelFileError
from imagenet_pi.relabelling.predictions_folder import read_json_object, write_atomically

METADATA_FILE = "relabel.json"

_METADATA_FIX = (
    "write it again with `imagenet-pi relabel`, or pass name and beta "
    "(custom_config(dir, name=..., beta=...))"
)


def read_metadata(config_dir: str | os.PathLike) -> dict | None:
    """The `relabel.json` that `relabel_config` wrote in a config folder; None if absent."""
    path = pathlib.Path(config_dir) / METADATA_FILE
    if not path.is_file():
        return None
    return read_json_object(path, "the JSON that `imagenet-pi relabel` writes", _METADATA_FIX)


def metadata_beta(config_dir: str | os.PathLike, metadata: Mapping[str, Any]) -> float | None:
    """The checked beta of a config folder's `relabel.json`; None if it has none."""
    if "beta" not in metadata:
        return None
    try:
        return temperature_sampling.check_beta(metadata["beta"])
    except ValueError as error:
        path = pathlib.Path(config_dir) / METADATA_FILE
        raise RelabelFileError(f"{path}: beta: {error}; {_METADATA_FIX}") from None


def metadata_seed(
    config_dir: str | os.PathLike, metadata: Mapping[str, Any]
) -> tuple[int, ...] | None:
    """The checked seed (as a tuple of ints) of a `relabel.json`; None if it has none."""
    if "seed" not in metadata:
        return None
    seed = metadata["seed"]
    valid = not isinstance(seed, bool) and not (
        isinstance(seed, list) and any(isinstance(s, bool) for s in seed)
    )
    try:
        if valid:
            return temperature_sampling.seed_entropy(seed)
    except ValueError:
        pass
    path = pathlib.Path(config_dir) / METADATA_FILE
    raise RelabelFileError(
        f"{path}: seed: expected an int >= 0 or a list of them, found {seed!r}; {_METADATA_FIX}"
    )


def write_metadata(config_dir: str | os.PathLike, metadata: Mapping[str, Any]) -> None:
    """Writes `<config_dir>/relabel.json` (complete or absent)."""
    write_atomically(
        pathlib.Path(config_dir) / METADATA_FILE,
        lambda p: p.write_text(json.dumps(metadata, indent=1), "utf-8"),
    )


def remove_metadata(config_dir: str | os.PathLike) -> None:
    """Removes `<config_dir>/relabel.json`, so that it never describes files being rewritten."""
    (pathlib.Path(config_dir) / METADATA_FILE).unlink(missing_ok=True)
