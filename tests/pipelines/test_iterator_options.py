"""`IteratorOptions`: every value checked on construction, no option a label policy would
ignore, and `make_iterator`'s keyword arguments checked against its fields."""

from __future__ import annotations

import re

import jax_batches
import pytest

from imagenet_pi import input_pipeline

_NAME = jax_batches.NAME


def test_an_unknown_keyword_names_the_options_there_are(builds):
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['batch_size'\].*seed"):
        input_pipeline.make_iterator(
            _NAME, "train", global_batch_size=8, train=True, batch_size=8, data_dir=builds["tfdata"]
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend", "jax"),
        ("image_size", 0),
        ("image_size", 32.0),
        ("dtype", "int32"),
        ("dtype", "float33"),
        ("normalise", "standard"),
        ("label_policy", "vote"),
        ("label_policy", 3),
        ("annotator_strategy", "median"),
        ("redraw_each_epoch", "yes"),
        ("annotator_labels_format", "onehot"),
        ("seed", 2**64),
        ("seed", "0"),
        ("sharding", "data"),
        ("num_epochs", -1),
        ("with_file_names", 1),
        ("process_count", 0),
        ("process_index", -1),
    ],
)
def test_iterator_options_refuse_a_bad_value_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}: expected .*, found {re.escape(repr(value))}"):
        input_pipeline.IteratorOptions(**{field: value})


def test_the_process_index_must_be_below_the_process_count():
    with pytest.raises(ValueError, match=r"process_index: expected an integer in 0\.\.1, found 2"):
        input_pipeline.IteratorOptions(process_index=2, process_count=2)


def test_a_backend_name_stands_for_its_default_options():
    assert input_pipeline.IteratorOptions(backend="grain").backend == input_pipeline.GrainOptions()
    assert input_pipeline.IteratorOptions().backend == input_pipeline.TfDataOptions()


@pytest.mark.parametrize(
    ("fields", "ignored"),
    [
        ({"label_policy": "all", "num_annotators_per_example": 3}, "num_annotators_per_example=3"),
        ({"label_policy": "majority", "annotator_strategy": "best"}, "annotator_strategy='best'"),
        ({"label_policy": "clean", "redraw_each_epoch": True}, "redraw_each_epoch=True"),
        (
            {
                "label_policy": "subset",
                "num_annotators_per_example": 2,
                "annotator_strategy": "best",
                "redraw_each_epoch": True,
            },
            "redraw_each_epoch=True",
        ),
    ],
)
def test_label_policy_options_the_policy_would_ignore_are_refused(fields, ignored):
    with pytest.raises(ValueError, match=rf"would ignore {re.escape(ignored)}: drop it"):
        input_pipeline.IteratorOptions(**fields)


def test_subset_needs_its_number_of_annotators():
    with pytest.raises(ValueError, match="num_annotators_per_example: label_policy 'subset' needs"):
        input_pipeline.IteratorOptions(label_policy="subset")
    with pytest.raises(
        ValueError, match=r"num_annotators_per_example: expected an integer in 1\.\.16"
    ):
        input_pipeline.IteratorOptions(label_policy="subset", num_annotators_per_example=17)
