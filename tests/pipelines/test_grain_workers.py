"""The grain back end with worker processes gives the batches of the one without."""

from __future__ import annotations

import jax_batches
import numpy as np
import pytest

_iterator = jax_batches.iterator
_names = jax_batches.file_names


@pytest.mark.slow
def test_grain_worker_process_gives_the_same_batches(builds):
    kwargs = dict(split="validation", train=False)
    in_process = list(_iterator(builds, "grain", **kwargs))
    iterator = _iterator(builds, "grain", worker_count=1, **kwargs)
    try:
        with_worker = list(iterator)
    finally:
        iterator.close()
    assert len(with_worker) == len(in_process)
    for a, b in zip(in_process, with_worker):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])
