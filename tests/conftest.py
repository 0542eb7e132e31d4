"""Shared fixtures: small synthetic ILSVRC2012 + ImageNet-PI inputs made at test time."""

from __future__ import annotations

import os

import pytest

from imagenet_pi import fake_data

# JAX tests run on 8 CPU devices: set before any test module imports jax.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

SMALL_SAMPLE = fake_data.SMALL_SAMPLE  # builds in seconds, spans several synsets


def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase.test_session is a context manager that pytest mistakes for a test (and
    # reports as skipped, "Not a test."): leave it out of the run.
    items[:] = [item for item in items if item.name != "test_session"]


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> tuple[str, fake_data.FakeIlsvrc]:
    """A manual_dir with both tars and PI CSVs for both configs (never modify it)."""
    manual_dir = str(tmp_path_factory.mktemp("manual"))
    return manual_dir, fake_data.write_sample(manual_dir, **SMALL_SAMPLE)


@pytest.fixture
def fresh_sample(tmp_path) -> tuple[str, fake_data.FakeIlsvrc]:
    """A manual_dir of one's own, free to break."""
    manual_dir = os.path.join(tmp_path, "manual")
    return manual_dir, fake_data.write_sample(manual_dir, configs=["high_noise"], **SMALL_SAMPLE)
