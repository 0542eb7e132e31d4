"""Shared fixtures: small synthetic ILSVRC2012 + ImageNet-PI inputs made at test time."""

from __future__ import annotations

import os
import shutil

import identity_builds
import ilsvrc_layouts
import pytest
import relabel_inputs

import imagenet_pi
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


@pytest.fixture(scope="session")
def layouts(tmp_path_factory) -> dict[str, str]:
    """One sample in every layout of ILSVRC2012: layout -> manual_dir (never modify them).

    See tests/ilsvrc_layouts.py; `ilsvrc_layouts.copy_layout` gives a copy to break.
    """
    return ilsvrc_layouts.write_layouts(tmp_path_factory.mktemp("layouts"))


@pytest.fixture
def flat_sample(tmp_path):
    """TFDS's imagenet_pi layout in a manual_dir, its CSVs pinned as released: a
    `csv_pins.FlatSample`."""
    import csv_pins  # imports TFDS: only for the tests that use it, not at collection

    return csv_pins.write_flat_sample(tmp_path)


def _build_high_noise(
    manual_dir: str, data_dir: str, file_format: str = "tfrecord", num_shards: int | None = None
) -> None:
    import tensorflow_datasets as tfds

    import imagenet_pi  # noqa: F401  (registers the builder)

    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir, file_format=file_format)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, num_shards=num_shards)
    )


# The two builds below are shared by every test that only reads a build: a test that breaks,
# removes or rebuilds one makes its own (`fresh_sample`, `tmp_path`).


@pytest.fixture(scope="session")
def built_high_noise(small_sample, tmp_path_factory) -> tuple[str, fake_data.FakeIlsvrc]:
    """`imagenet_pi/high_noise` built as TFRecord from `small_sample`: (data_dir, sample).

    Read only.
    """
    manual_dir, sample = small_sample
    data_dir = str(tmp_path_factory.mktemp("built_high_noise"))
    _build_high_noise(manual_dir, data_dir)
    return data_dir, sample


_ARRAY_RECORD_SHARDS = 3  # the small sample's splits hold 12 and 6 examples


@pytest.fixture(scope="session")
def built_high_noise_array_record(
    small_sample, tmp_path_factory
) -> tuple[str, fake_data.FakeIlsvrc]:
    """`imagenet_pi/high_noise` built as array_record from `small_sample`: (data_dir, sample).

    Three shards a split, so that slices and random reads cross shards.
    Read only.
    """
    manual_dir, sample = small_sample
    data_dir = str(tmp_path_factory.mktemp("built_high_noise_array_record"))
    _build_high_noise(
        manual_dir, data_dir, file_format="array_record", num_shards=_ARRAY_RECORD_SHARDS
    )
    return data_dir, sample


@pytest.fixture
def copied_build(built_high_noise, tmp_path) -> str:
    """A copy of the shared build, free to damage: its data_dir."""
    data_dir, _ = built_high_noise
    shutil.copytree(data_dir, tmp_path / "data")
    return str(tmp_path / "data")


@pytest.fixture(scope="session")
def builds(small_sample, built_high_noise, tmp_path_factory) -> dict[str, str]:
    """The small sample built for each back end of `input_pipeline`: {"tfdata": the TFRecord
    data_dir (`built_high_noise`), "grain": an array_record one, one shard a split}. Read only.

    (tests/test_damaged_builds.py has a `builds` of its own, three shards a split.)
    """
    manual_dir, _ = small_sample
    array_record_dir = str(tmp_path_factory.mktemp("array_record"))
    _build_high_noise(manual_dir, array_record_dir, file_format="array_record")
    return {"tfdata": built_high_noise[0], "grain": array_record_dir}


@pytest.fixture
def error_class(request) -> type[BaseException]:
    """The package's exception class named `<module>.<class>` by the test's parameter
    (`indirect=True`: its module is imported when the test runs, not at collection)."""
    import package_errors

    return package_errors.error_class(request.param)


# Custom configs (tests/test_custom_configs.py and its end-to-end tests).


@pytest.fixture(scope="module")
def custom_relabelled(tmp_path_factory):
    """(manual_dir with tars only, sample, config folder relabelled at CUSTOM_BETA)."""
    return relabel_inputs.relabelled_sample(
        tmp_path_factory.mktemp("custom"), relabel_inputs.CUSTOM_BETA, seed=11
    )


@pytest.fixture(scope="module")
def custom_built(custom_relabelled, tmp_path_factory):
    """The relabelled folder built with the real builder: (data_dir, config)."""
    manual_dir, _, config_dir = custom_relabelled
    data_dir = str(tmp_path_factory.mktemp("custom_build"))
    return data_dir, relabel_inputs.build_custom_config(config_dir, manual_dir, data_dir)


# Build identity (tests/test_build_identity.py and its end-to-end tests).


@pytest.fixture(scope="module")
def relabelled_twice(tmp_path_factory):
    """`imagenet-pi relabel --beta 0.3` at seeds 0 and 1: (manual_dir, folder A, folder B)."""
    return identity_builds.relabel_twice(tmp_path_factory.mktemp("relabelled_twice"))


@pytest.fixture
def built_from_a(relabelled_twice, tmp_path):
    """Config beta_0.3 built from folder A: data_dir."""
    manual_dir, folder_a, _ = relabelled_twice
    config = imagenet_pi.custom_config(folder_a, name="beta_0.3")
    identity_builds.build(tmp_path, manual_dir, config=config)
    return str(tmp_path)
