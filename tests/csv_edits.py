"""Synthetic ImageNet-PI split CSVs, and edits of their lines, for the tests of the reader.

The fixtures `rng` and `config_dir` (tests/annotations/conftest.py) write a config folder
with these; a test then edits one line and checks what the reader says of it.
"""

from __future__ import annotations

import pathlib

import numpy as np

from imagenet_pi import upstream

NUM_ANNOTATORS = upstream.NUM_ANNOTATORS


def random_split(rng: np.random.Generator, num_rows: int, prefix: str = "n01440764"):
    """Shuffled file names, labels in 0..999 and float64 confidences in [0, 1]."""
    names = [f"{prefix}_{i}.JPEG" for i in rng.permutation(num_rows)]
    labels = rng.integers(0, upstream.NUM_CLASSES, (num_rows, NUM_ANNOTATORS))
    # Small values exercise repr's exponent form, e.g. 3.2e-05.
    confidences = rng.random((num_rows, NUM_ANNOTATORS)) ** rng.integers(1, 9, (num_rows, 1))
    return names, labels, confidences


def csv_path(config_dir: pathlib.Path, kind: str, split: str = "train") -> pathlib.Path:
    """The labels or confidences CSV of `split` in a config folder."""
    return config_dir / upstream.csv_relpath(kind, split)


def replace_line(path: pathlib.Path, line_number: int, line: str) -> None:
    """Replaces one line (1-based) of a text file."""
    lines = path.read_text().splitlines(keepends=True)
    lines[line_number - 1] = line + "\n"
    path.write_text("".join(lines))


def set_field(path: pathlib.Path, line_number: int, field: int, text: str) -> str:
    """Replaces field `field` (0 = file name) of one line; returns the file name it had."""
    fields = path.read_text().splitlines()[line_number - 1].split(",")
    name = fields[0]
    fields[field] = text
    replace_line(path, line_number, ",".join(fields))
    return name


def edit_line(path: pathlib.Path, line_number: int, edit) -> None:
    """Applies `edit` (bytes -> bytes) to one line of a file written with LF line ends."""
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_bytes(b"\n".join(lines))


def latin1_name_on_line(path: pathlib.Path, line_number: int) -> None:
    """Gives the file name on one line a byte that is not UTF-8 (an é in Latin-1)."""
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = lines[line_number - 1].replace(b".JPEG", b"\xe9.JPEG", 1)
    path.write_bytes(b"\n".join(lines))


def write_features_text(config_dir: pathlib.Path, text: str) -> pathlib.Path:
    """Writes `text` as the config folder's annotator_features.csv; returns its path."""
    path = config_dir / "annotator_features.csv"
    path.write_text(text)
    return path
