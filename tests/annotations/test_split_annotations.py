"""`SplitAnnotations`: rows found by name, a short repr, subsets that stay sorted and aligned."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_pi import annotations


def test_rows_finds_names_and_gives_minus_one_for_absent_ones(config_dir):
    split = annotations.read_split(config_dir, "train")
    names = split.names()
    query = [names[7], "absent.JPEG", names[0], names[-1], "zzz.JPEG", ""]
    np.testing.assert_array_equal(split.rows(query), [7, -1, 0, len(names) - 1, -1, -1])
    np.testing.assert_array_equal(split.rows(np.array(query, dtype=bytes)), split.rows(query))
    assert split.rows([]).shape == (0,)


def test_row_of_an_absent_name_raises_key_error_naming_it(config_dir):
    split = annotations.read_split(config_dir, "train")
    assert split.row(split.names()[3]) == 3
    with pytest.raises(
        KeyError, match="'n01440764_999.JPEG' has no ImageNet-PI annotations"
    ) as error:
        split.row("n01440764_999.JPEG")
    assert f"50 annotated file names, e.g. '{split.names()[0]}'" in str(error.value)


def test_repr_is_short(config_dir):
    split = annotations.read_split(config_dir, "train")
    names = split.names()
    assert repr(split) == f"SplitAnnotations(50 rows, {names[0]!r}..{names[-1]!r})"


def test_subset_keeps_rows_sorted_and_aligned(config_dir):
    split = annotations.read_split(config_dir, "train")
    part = split.subset([9, 2, 2, 5])
    assert len(part) == 3
    assert part.names() == [split.names()[i] for i in (2, 5, 9)]
    np.testing.assert_array_equal(part.labels, split.labels[[2, 5, 9]])
    np.testing.assert_array_equal(part.confidences, split.confidences[[2, 5, 9]])
    assert part.row(split.names()[5]) == 1
    assert split.subset(slice(10, 20)).names() == split.names()[10:20]
    assert len(split.subset(split.labels[:, 0] < 500)) == int(np.sum(split.labels[:, 0] < 500))


def test_subset_refuses_the_minus_one_of_absent_names(config_dir):
    split = annotations.read_split(config_dir, "train")
    with pytest.raises(ValueError, match=">= 0"):
        split.subset(split.rows(["absent.JPEG"]))
