"""The CSV format as parsed: standard quoting, spaces and tabs around numbers, non-ASCII names."""

from __future__ import annotations

import csv
import pathlib

import csv_edits
import numpy as np
import pytest

from imagenet_pi import annotations


def _quoted(path: pathlib.Path, quoting: int) -> None:
    """Rewrites a CSV as Python's csv module (like pandas and R) writes it with `quoting`."""
    rows = [line.split(",") for line in path.read_text().splitlines()]
    if quoting == csv.QUOTE_NONNUMERIC:
        rows = [[row[0], *map(float, row[1:])] for row in rows]
    with path.open("w", newline="") as f:
        csv.writer(f, quoting=quoting).writerows(rows)


@pytest.mark.parametrize("quoting", [csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])
def test_fields_quoted_the_standard_way_are_read(config_dir, quoting):
    expected = annotations.read_split(config_dir, "train")
    _quoted(csv_edits.csv_path(config_dir, "confidences"), quoting)
    if quoting == csv.QUOTE_ALL:
        _quoted(csv_edits.csv_path(config_dir, "labels"), quoting)
    assert csv_edits.csv_path(config_dir, "confidences").read_bytes().startswith(b'"')
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


def test_spaces_and_tabs_around_numbers_are_read_as_csv_readers_read_them(config_dir):
    expected = annotations.read_split(config_dir, "train")
    for kind in ("labels", "confidences"):
        path = csv_edits.csv_path(config_dir, kind)
        lines = [line.split(b",", 1) for line in path.read_bytes().splitlines()]
        spaced = [name + b"," + b" ,\t".join(values.split(b",")) + b" " for name, values in lines]
        path.write_bytes(b"\n".join(spaced) + b"\n")
    assert b" ,\t" in csv_edits.csv_path(config_dir, "labels").read_bytes()
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


def test_non_ascii_file_names_are_read(tmp_path, rng):
    names = ["café_1.JPEG", "b_2.JPEG", "ärger_3.JPEG"]
    _, labels, confidences = csv_edits.random_split(rng, 3)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    split = annotations.read_split(tmp_path, "train")
    assert split.names() == sorted(names)
    assert split.row("café_1.JPEG") == sorted(names).index("café_1.JPEG")
