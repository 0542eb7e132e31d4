"""`annotator_features.csv`: 16 lines `<accuracy>,<log parameter count>`, one per annotator.

Line i describes the annotator of column i of the split CSVs: its normalised accuracy and
normalised log parameter count. Read into a `(16, 2) float32` array, every field checked;
written as `repr(float)`.
"""

from __future__ import annotations

import numpy as np
from etils import epath

from imagenet_pi import upstream
from imagenet_pi.annotations.csv_diagnosis import separator_hint
from imagenet_pi.annotations.csv_format import (
    BLANK,
    UTF8_BOM,
    AnnotationError,
    PathLike,
    show,
    unquoted,
)
from imagenet_pi.annotations.split_reader import check_readable


def read_annotator_features(config_dir_or_csv: PathLike) -> np.ndarray:
    """Reads `annotator_features.csv`: (16, 2) float32.

    Row i describes the annotator of CSV column i: (normalised accuracy,
    normalised log parameter count).

    Args:
      config_dir_or_csv: a config folder or the path of the CSV itself.
    """
    path = epath.Path(config_dir_or_csv)
    if path.is_dir():
        path = path / upstream.ANNOTATOR_FEATURES_RELPATH
    check_readable(path)
    lines = path.read_bytes().removeprefix(UTF8_BOM).rstrip(BLANK).splitlines()
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if len(lines) != expected_shape[0]:
        raise AnnotationError(
            f"{path}: expected {expected_shape[0]} lines (one per annotator), found {len(lines)}."
        )
    features = np.empty(expected_shape, np.float32)
    for line_number, line in enumerate(lines, 1):
        fields = line.split(b",")
        if len(fields) != expected_shape[1]:
            raise AnnotationError(
                f"{path}, line {line_number}: expected {expected_shape[1]} comma-separated "
                f"numbers, found {len(fields)} fields: {show(line)}."
                + separator_hint(line, expected_shape[1])
            )
        for column, text in enumerate(fields):
            try:
                value = float(unquoted(text))
            except ValueError:
                raise AnnotationError(
                    f"{path}, line {line_number}: field {column + 1} is not a number: {show(text)}."
                ) from None
            if not np.isfinite(value):
                raise AnnotationError(
                    f"{path}, line {line_number}: field {column + 1} is not finite: {show(text)}."
                )
            features[line_number - 1, column] = value
    return features


def write_annotator_features(config_dir: PathLike, features: np.ndarray) -> None:
    """Writes `annotator_features.csv`: 16 lines `<accuracy>,<log parameter count>`.

    Args:
      config_dir: the config folder (created if absent).
      features: (16, 2) floats, written as `repr(float)`.
    """
    features = np.asarray(features, dtype=np.float64)
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if features.shape != expected_shape:
        raise ValueError(f"features must have shape {expected_shape}, got {features.shape}")
    path = epath.Path(config_dir) / upstream.ANNOTATOR_FEATURES_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(",".join(map(repr, row)) + "\n" for row in features.tolist())
    path.write_bytes(lines.encode("utf-8"))
