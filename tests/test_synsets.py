"""The 1000 ILSVRC2012 synsets in class index order, and the official validation ground truth."""

from __future__ import annotations

import re

import numpy as np
import pytest

from imagenet_pi import internals, synsets


def test_the_synsets_are_1000_sorted_distinct_ids_in_class_index_order():
    ids = synsets.synsets()
    assert len(ids) == len(set(ids)) == 1000
    assert list(ids) == sorted(ids)
    assert all(re.fullmatch(r"n\d{8}", synset) for synset in ids)
    assert [synsets.class_index(synset) for synset in ids] == list(range(1000))
    assert synsets.synsets_path().read_text().split() == list(ids)


def test_an_unknown_synset_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"^'n99999999' is not one of the 1000 ILSVRC2012"):
        synsets.class_index("n99999999")


def test_validation_image_k_has_the_synset_of_line_k_of_the_ground_truth():
    lines = internals.imagenet2012_label_table("validation_labels.txt").read_text().split()
    assert len(lines) == 50_000
    for k in (1, 2, 4321, 50_000):
        assert synsets.validation_synset(f"ILSVRC2012_val_{k:08d}.JPEG") == lines[k - 1]
    names = [f"ILSVRC2012_val_{k:08d}.JPEG" for k in (7, 3)]
    indices = synsets.validation_class_indices(names)
    assert indices.dtype == np.int64
    assert indices.tolist() == [synsets.class_index(lines[6]), synsets.class_index(lines[2])]


@pytest.mark.parametrize(
    "name",
    [
        "ILSVRC2012_val_00000000.JPEG",
        "ILSVRC2012_val_00050001.JPEG",
        "val_1.JPEG",
        "ILSVRC2012_val_00000001.JPEG\n",  # a '$' would let the newline pass
    ],
)
def test_a_name_that_is_no_validation_image_is_refused_naming_it_and_the_range(name):
    with pytest.raises(ValueError) as error:
        synsets.validation_synset(name)
    assert str(error.value).startswith(f"{name!r} is not an ILSVRC2012 validation image name")
    assert "'ILSVRC2012_val_00050000.JPEG'" in str(error.value)


def test_train_names_give_the_class_index_of_their_synset():
    rng = np.random.default_rng(0)
    chosen = rng.choice(synsets.synsets(), size=50)
    names = np.array([f"{synset}_{rng.integers(1, 10**6)}.JPEG" for synset in chosen])
    indices = synsets.train_class_indices(names)
    assert indices.dtype == np.int64 and indices.shape == (50,)
    assert indices.tolist() == [synsets.class_index(str(synset)) for synset in chosen]


@pytest.mark.parametrize("bad", ["cat_1.JPEG", "n0144076_1.JPEG"])
def test_a_train_name_without_a_synset_is_refused_naming_it(bad):
    names = ["n01440764_1.JPEG", bad]
    with pytest.raises(ValueError, match=rf"^'{bad}' is not an ILSVRC2012 train image name"):
        synsets.train_class_indices(names)
