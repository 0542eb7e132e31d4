"""The iterator `make_iterator` returns: global arrays on devices, no state for tf.data, and a
process that exits quietly however an iterator is abandoned."""

from __future__ import annotations

import textwrap

import jax
import jax_batches
import numpy as np
import pytest
from python_process import run_to_exit

_NAME = jax_batches.NAME
_iterator = jax_batches.iterator


def test_sharding_gives_global_arrays_split_over_devices(builds):
    mesh = jax.make_mesh((8,), ("data",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    iterator = _iterator(
        builds,
        "tfdata",
        split="train",
        train=True,
        global_batch_size=16,
        sharding=sharding,
        with_file_names=False,
    )
    batch = next(iterator)
    for array in jax.tree_util.tree_leaves(batch):
        assert isinstance(array, jax.Array)
        assert array.sharding == sharding
        assert array.shape[0] == 16
        assert {shard.data.shape[0] for shard in array.addressable_shards} == {2}
    labels = jax.jit(lambda b: b["pi_features"]["annotator_labels"].argmax(-1))(batch)
    np.testing.assert_array_equal(np.asarray(labels), np.asarray(batch["label"]))


# Each scenario runs in a fresh process, which must print "done", exit on its own and write
# nothing to stderr after its imports but TensorFlow's start-up lines (a grain worker
# process imports TensorFlow, and this machine has no GPU).
_TENSORFLOW_STARTUP = (
    "absl::InitializeLog",
    "port.cc",
    "cudart_stub.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "cuInit",
)


_SCENARIO_PRELUDE = """
import gc, sys, time
import grain, jax, tensorflow as tf
from imagenet_pi import input_pipeline

jax.devices()
tf.constant(0)  # TensorFlow's start-up logs come before the marker
print("imports done", file=sys.stderr, flush=True)


def make(**kwargs):
    kwargs = {{"split": "train", "train": True, "global_batch_size": 8, "image_size": 32,
              "with_file_names": True, **{backend_options}, **kwargs}}
    return input_pipeline.make_iterator(
        "{name}", backend="{backend}", data_dir={data_dir!r}, **kwargs)
"""


_SCENARIOS = {
    # Issue 11's script: peek at the first batch inside a function, several times.
    "peek_in_a_function": """
        def first(seed):
            return next(iter(make(seed=seed)))["file_name"]

        a, b, c = first(3), first(3), first(4)
        assert (a == b).all()
        """,
    # Dropped while the pipeline is still reading and decoding ahead.
    "dropped_right_after_the_first_batch": """
        for seed in range(3):
            it = make(seed=seed)
            next(it)
            del it
            gc.collect()
        """,
    "dropped_before_the_first_batch": """
        it = make()
        del it
        gc.collect()
        make(train=False).close()
        """,
    "dropped_mid_epoch_with_full_buffers": """
        it = make(num_epochs=None)
        next(it)
        time.sleep(3)  # the pipeline reads and decodes ahead until its buffers are full
        del it
        gc.collect()
        """,
    "closed_twice_then_used": """
        it = make()
        next(it)
        it.close()
        it.close()
        try:
            next(it)
        except ValueError as error:
            assert "closed" in str(error), error
        else:
            raise AssertionError("next() after close() must raise")
        """,
    "exception_in_a_with_block": """
        try:
            with make() as it:
                for step, batch in enumerate(it):
                    if step == 1:
                        raise KeyError("the training loop failed")
        except KeyError:
            pass
        """,
    # A finite pass read to its end: grain's workers run out of data.
    "evaluation_pass_read_to_the_end": """
        with make(train=False) as it:
            assert sum(1 for _ in it) == len(it)
        """,
    "evaluation_pass_one_batch_then_closed": """
        with make(train=False) as it:
            next(it)
        """,
    "stopped_after_n_steps_and_left_alive_at_exit": """
        it = make(num_epochs=None)
        for step, batch in zip(range(3), it):
            pass
        """,
}


# One scenario runs in the quick suite (-m "not slow"); all of them run in the whole suite.
_QUICK_SCENARIOS = {("grain", "peek_in_a_function")}  # the hang of issue 11


@pytest.mark.parametrize(
    "backend, scenario",
    [
        pytest.param(
            backend,
            scenario,
            marks=() if (backend, scenario) in _QUICK_SCENARIOS else pytest.mark.slow,
        )
        for scenario in _SCENARIOS
        for backend in ("tfdata", "grain", "grain_workers")
    ],
)
def test_abandoned_iterator_lets_the_process_exit_quietly(builds, backend, scenario):
    prelude = _SCENARIO_PRELUDE.format(
        name=_NAME,
        backend=backend.split("_")[0],
        data_dir=builds[backend.split("_")[0]],
        backend_options={"tfdata": {}, "grain": {"worker_count": 0}}.get(
            backend, {"worker_count": 1}
        ),
    )
    script = prelude + textwrap.dedent(_SCENARIOS[scenario]) + 'print("done", flush=True)\n'
    result = run_to_exit(script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1:] == ["done"]
    after_imports = result.stderr.split("imports done\n", 1)[-1]
    noise = [
        line
        for line in after_imports.splitlines()
        if not any(startup in line for startup in _TENSORFLOW_STARTUP)
    ]
    assert noise == [], "\n".join(noise)[-3000:]


def test_tfdata_iterator_has_no_state(builds):
    iterator = _iterator(builds, "tfdata", split="train", train=True)
    with pytest.raises(NotImplementedError, match="backend='grain'"):
        iterator.get_state()
