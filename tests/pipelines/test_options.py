"""Each back end's own options, checked on construction; an option of the other back end is
refused naming its owner."""

from __future__ import annotations

import re

import jax_batches
import pytest

from imagenet_pi import input_pipeline

_NAME = jax_batches.NAME
_iterator = jax_batches.iterator


@pytest.mark.parametrize(
    ("options_class", "field", "value"),
    [
        (input_pipeline.TfDataOptions, "shuffle_buffer_size", 0),
        (input_pipeline.TfDataOptions, "deterministic", None),
        (input_pipeline.GrainOptions, "worker_count", -1),
        (input_pipeline.GrainOptions, "read_threads", 0),
        (input_pipeline.GrainOptions, "read_threads", 2.5),
    ],
)
def test_backend_options_refuse_a_bad_value_naming_the_field(options_class, field, value):
    with pytest.raises(ValueError, match=rf"^{field}: expected .*, found {re.escape(repr(value))}"):
        options_class(**{field: value})


@pytest.mark.parametrize(
    ("backend", "knob", "owner"),
    [
        ("tfdata", "worker_count", "grain"),
        ("tfdata", "read_threads", "grain"),
        ("grain", "shuffle_buffer_size", "tfdata"),
        ("grain", "deterministic", "tfdata"),
    ],
)
def test_an_option_of_the_other_backend_is_refused_naming_it(builds, backend, knob, owner):
    value = {"worker_count": 1, "read_threads": 4, "shuffle_buffer_size": 4}.get(knob, False)
    message = rf"^{knob} is an option of backend='{owner}' .*backend='{backend}' would ignore it"
    with pytest.raises(TypeError, match=message):
        _iterator(builds, backend, split="train", train=True, **{knob: value})
    options = input_pipeline.IteratorOptions(backend=backend)
    with pytest.raises(TypeError, match=message):
        input_pipeline.make_iterator(
            _NAME, "train", global_batch_size=8, train=True, options=options, **{knob: value}
        )
