"""A split's labels and confidences CSVs written in the upstream format.

For synthetic data (`fake_data`) and relabelled configs (`imagenet-pi relabel`): rows in
the given order, without a header; labels as integers, confidences as `repr(float)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from etils import epath

from imagenet_pi import upstream
from imagenet_pi.annotations.csv_format import (
    NAME_COLUMN,
    VALUE_COLUMNS,
    PathLike,
)
from imagenet_pi.file_names import as_str as _as_str

_WRITE_CHUNK_ROWS = 1 << 16


def write_split(
    config_dir: PathLike,
    split: str,
    file_names: Sequence[str] | np.ndarray,
    labels: np.ndarray,
    confidences: np.ndarray,
) -> None:
    """Writes `labels/<split>.csv` and `confidences/<split>.csv` in the upstream format.

    Rows are written in the given order, without a header: the file name, then 16
    labels as integers or 16 confidences as `repr(float)` (full float64 precision).
    Values are written as given, without range checks, so tests can write bad files.

    Args:
      config_dir: the config folder; sub-folders are created.
      split: 'train' or 'validation'.
      file_names: (num_examples,) str or bytes.
      labels: (num_examples, 16) integers.
      confidences: (num_examples, 16) floats.
    """
    names = [_as_str(name) for name in np.asarray(file_names).reshape(-1).tolist()]
    labels = np.asarray(labels)
    confidences = np.asarray(confidences, dtype=np.float64)
    shape = (len(names), upstream.NUM_ANNOTATORS)
    if labels.shape != shape or confidences.shape != shape:
        raise ValueError(
            f"labels and confidences must have shape {shape}, got "
            f"{labels.shape} and {confidences.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    for name in names:
        if not name or any(character in name for character in ",\n\r\0"):
            raise ValueError(
                f"file names must be non-empty, without commas or line breaks: {name!r}"
            )

    config_dir = epath.Path(config_dir)
    encoded_names = [name.encode("utf-8") for name in names]
    for kind, write in (("labels", _write_labels), ("confidences", _write_confidences)):
        path = config_dir / upstream.csv_relpath(kind, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write(f, encoded_names, labels if kind == "labels" else confidences)


def _write_labels(f: BinaryIO, names: list[bytes], labels: np.ndarray) -> None:
    """Label rows; pyarrow prints integers as str() does, several times faster."""
    table = pa.table(
        {
            NAME_COLUMN: pa.array(names, pa.binary()),
            **{column: labels[:, i] for i, column in enumerate(VALUE_COLUMNS)},
        }
    )
    pa_csv.write_csv(table, f, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


def _write_confidences(f: BinaryIO, names: list[bytes], confidences: np.ndarray) -> None:
    """Confidence rows, as repr(float): pyarrow prints floats differently (0.00001 for 1e-05)."""
    for start in range(0, len(names), _WRITE_CHUNK_ROWS):
        stop = start + _WRITE_CHUNK_ROWS
        rows = zip(names[start:stop], confidences[start:stop].tolist())
        f.write(
            b"".join(b"%s,%s\n" % (name, ",".join(map(repr, row)).encode()) for name, row in rows)
        )
