"""The one lifecycle of the grain back ends: a state is the number of batches handed out, is
applied only to the stream it was saved from, and a closed stream refuses everything."""

from __future__ import annotations

import json
import re

import jax_batches
import numpy as np
import pytest
from python_process import run_to_exit

_NAME = jax_batches.NAME
_SIZE = jax_batches.IMAGE_SIZE
_iterator = jax_batches.iterator
_take = jax_batches.take
_names = jax_batches.file_names


@pytest.mark.slow
def test_grain_iterator_state_resumes_where_it_left_off(builds):
    kwargs = dict(split="train", train=True, seed=1)
    iterator = _iterator(builds, "grain", **kwargs)
    _take(iterator, 2)
    state = iterator.get_state()
    expected = _take(iterator, 2)
    resumed = _iterator(builds, "grain", **kwargs)
    resumed.set_state(state)
    for a, b in zip(expected, _take(resumed, 2)):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])


def test_grain_state_is_the_number_of_batches_handed_out(builds):
    kwargs = dict(split="train", train=False)  # 12 examples: 2 batches of 8
    iterator = _iterator(builds, "grain", **kwargs)
    assert iterator.get_state()["step"] == 0
    _take(iterator, 1)
    state = iterator.get_state()
    assert state["step"] == 1
    rest = list(iterator)
    assert len(rest) == len(iterator) - 1 == 1
    again = _iterator(builds, "grain", **kwargs)
    again.set_state(state)
    assert [_names(b) for b in again] == [_names(b) for b in rest]
    for bad in ({**state, "step": 3}, {**state, "step": -1}, {**state, "step": 1.0}):
        with pytest.raises(ValueError, match="set_state expects 'step' with 0 <= step <= 2"):
            again.set_state(bad)
    for bad in ({"steps": 1}, [1]):
        with pytest.raises(ValueError, match="set_state expects the dict get_state"):
            again.set_state(bad)


@pytest.mark.slow
def test_grain_state_is_the_same_with_or_without_workers(builds):
    """The same state whatever `worker_count`: a state saved without workers restores an
    iterator with workers."""
    kwargs = dict(split="train", train=True, seed=2)
    in_process = _iterator(builds, "grain", **kwargs)
    _take(in_process, 1)
    state = in_process.get_state()
    expected = _take(in_process, 1)
    with _iterator(builds, "grain", worker_count=1, **kwargs) as with_workers:
        with_workers.set_state(state)
        resumed = _take(with_workers, 1)
        assert with_workers.get_state() == {**state, "step": 2}
    assert _names(expected[0]) == _names(resumed[0])
    np.testing.assert_array_equal(expected[0]["image"], resumed[0]["image"])


def _grain_state(builds, **kwargs):
    kwargs = {"split": "train", "train": True, "seed": 1, **kwargs}
    with _iterator(builds, "grain", **kwargs) as iterator:
        _take(iterator, 1)
        return iterator.get_state()


@pytest.mark.parametrize(
    ("saved_with", "resumed_with", "difference"),
    [
        ({"seed": 0}, {}, "seed 0 in the state, 1 here"),
        ({"global_batch_size": 16}, {}, "global_batch_size 16 in the state, 8 here"),
        ({"split": "train[:10]"}, {}, "split 'train[:10]' in the state, 'train' here"),
        ({"train": False}, {}, "train False in the state, True here"),
        (
            {"process_index": 1, "process_count": 2, "global_batch_size": 16},
            {},
            "process_index 1 in the state, 0 here",
        ),
    ],
)
def test_a_grain_state_of_another_stream_is_refused_naming_what_differs(
    builds, saved_with, resumed_with, difference
):
    state = _grain_state(builds, **saved_with)
    message = rf"saved from another stream \(.*{re.escape(difference)}"
    with (
        _iterator(builds, "grain", split="train", train=True, seed=1, **resumed_with) as other,
        pytest.raises(ValueError, match=message),
    ):
        other.set_state(state)


def test_a_grain_state_of_another_dataset_is_refused(builds):
    state = {**_grain_state(builds), "dataset": "imagenet_pi/low_noise/3.0.0"}
    with (
        _iterator(builds, "grain", split="train", train=True, seed=1) as other,
        pytest.raises(ValueError, match="dataset 'imagenet_pi/low_noise/3.0.0' in the state"),
    ):
        other.set_state(state)


def test_a_grain_state_of_version_0_1_0_is_refused_saying_how_to_resume(builds):
    how = re.escape("it.set_state({**it.get_state(), 'step': 3})")
    with (
        _iterator(builds, "grain", split="train", train=True) as iterator,
        pytest.raises(ValueError, match=rf"saved by imagenet_pi 0\.1\.0.*{how}"),
    ):
        iterator.set_state({"step": 3})


def test_a_grain_state_resumes_after_a_json_round_trip_with_other_output_options(builds):
    kwargs = dict(split="train", train=True, seed=1)
    with _iterator(builds, "grain", **kwargs) as iterator:
        _take(iterator, 1)
        state = json.loads(json.dumps(iterator.get_state()))
        expected = _names(next(iterator))
    with _iterator(builds, "grain", image_size=_SIZE // 2, read_threads=1, **kwargs) as resumed:
        resumed.set_state(state)
        assert _names(next(resumed)) == expected


# grain's two streams, made directly, share one lifecycle: a closed stream refuses
# next, get_state and set_state (it never restarts); an open one restarts at a state.
_STREAM_LIFECYCLE = """
import tensorflow_datasets as tfds
from imagenet_pi.pipelines import grain_threads, grain_workers
from imagenet_pi.pipelines.raw import RawOptions

builder = tfds.builder("{name}", data_dir={data_dir!r})
options = RawOptions(train=True, local_batch_size=4, image_size=16, normalise="none", seed=0)
common = dict(num_steps=None, num_epochs=None, read_threads=1, identity={{"seed": 0}})
if "{stream}" == "threads":
    stream = grain_threads.batches(builder, "train", options, **common)
else:
    stream = grain_workers.batches(builder, "train", options, worker_count=1, **common)
first = next(stream)["file_name"].tolist()
next(stream)
state = stream.get_state()
assert state == {{"step": 2, "seed": 0}}, state
stream.set_state({{"step": 0, "seed": 0}})
assert next(stream)["file_name"].tolist() == first
stream.close()
stream.close()
for call in (lambda: next(stream), stream.get_state, lambda: stream.set_state(state)):
    try:
        call()
    except ValueError as error:
        assert "this grain stream is closed" in str(error), error
    else:
        raise AssertionError("a closed stream must refuse")
"""


@pytest.mark.slow  # a process of its own a stream (seconds)
@pytest.mark.parametrize("stream", ["threads", "workers"])
def test_grain_streams_restart_at_a_state_and_refuse_everything_once_closed(builds, stream):
    script = _STREAM_LIFECYCLE.format(name=_NAME, data_dir=builds["grain"], stream=stream)
    result = run_to_exit(script + 'print("done", flush=True)\n')
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1:] == ["done"]
