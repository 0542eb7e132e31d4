"""The imagenet_pi builder, run through TFDS's own dataset test harness and read back; its
configs' beta; every TFDS file format it writes."""

from __future__ import annotations

import math
import os
import shutil
import tempfile

import in_process_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import (
    annotations,
    built_datasets,
    fake_data,
    ilsvrc,
    internals,
    relabel,
    synsets,
    upstream,
)
from imagenet_pi.generation import join
from imagenet_pi.imagenet_pi_dataset_builder import ImagenetPiConfig

_NUM_TRAIN = fake_data.SMALL_SAMPLE["num_synsets"] * fake_data.SMALL_SAMPLE["images_per_synset"]
_NUM_VALIDATION = fake_data.SMALL_SAMPLE["num_validation"]


def _make_example_dir(cls, csvs_in_manual_dir: bool) -> None:
    cls._example_dir = tempfile.mkdtemp(prefix="imagenet_pi_example_")
    fake_data.write_sample(cls._example_dir, **fake_data.SMALL_SAMPLE)
    if not csvs_in_manual_dir:
        # Where the (patched) download manager hands out the "downloaded" CSVs.
        os.rename(
            os.path.join(cls._example_dir, "imagenet_pi"),
            os.path.join(cls._example_dir, "downloads"),
        )
    cls.EXAMPLE_DIR = cls._example_dir


class ImagenetPiFromCloneInManualDirTest(tfds.testing.DatasetBuilderTestCase):
    """Both configs, with the PI CSVs in `<manual_dir>/imagenet_pi/<config>/`."""

    DATASET_CLASS = imagenet_pi.Builder
    SPLITS = {"train": _NUM_TRAIN, "validation": _NUM_VALIDATION}
    BUILDER_CONFIG_NAMES_TO_TEST = ["high_noise", "low_noise"]

    @classmethod
    def setUpClass(cls):
        _make_example_dir(cls, csvs_in_manual_dir=True)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls._example_dir)

    @pytest.mark.slow
    def test_download_and_prepare_as_dataset(self, *args, **kwargs):
        super().test_download_and_prepare_as_dataset(*args, **kwargs)


class ImagenetPiDownloadedCsvsTest(tfds.testing.DatasetBuilderTestCase):
    """The PI CSVs through the download manager; every URL asked for is in checksums.tsv."""

    DATASET_CLASS = imagenet_pi.Builder
    SPLITS = {"train": _NUM_TRAIN, "validation": _NUM_VALIDATION}
    BUILDER_CONFIG_NAMES_TO_TEST = ["high_noise"]
    DL_DOWNLOAD_RESULT = {
        rel: os.path.join("downloads", "high_noise", rel) for rel in upstream.config_relpaths()
    }
    SKIP_CHECKSUMS = False  # the URLs the builder downloads must all be pinned

    @classmethod
    def setUpClass(cls):
        _make_example_dir(cls, csvs_in_manual_dir=False)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls._example_dir)


@pytest.fixture(scope="module")
def built(small_sample, tmp_path_factory):
    """`imagenet_pi/high_noise` built from the small sample with download_and_prepare."""
    manual_dir, sample = small_sample
    data_dir = str(tmp_path_factory.mktemp("data"))
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder, manual_dir, sample


def _read_all(builder, split):
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    return {ex["file_name"].decode(): ex for ex in tfds.as_numpy(dataset)}


def test_builder_resolves_to_this_package(built):
    builder, _, _ = built
    assert isinstance(builder, imagenet_pi.Builder)
    assert builder.version == "3.0.0"
    assert builder.builder_config.beta == 0.1


def test_every_example_carries_its_csv_row_and_archive_bytes(built):
    builder, manual_dir, sample = built
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    layout = ilsvrc.TarLayout(train_tar=sample.train_tar, val_tar=sample.val_tar)
    records = {
        split: {r.file_name: r for r in ilsvrc.iter_split(layout, split)}
        for split in upstream.SPLITS
    }
    for split in upstream.SPLITS:
        examples = _read_all(builder, split)
        expected = annotations.read_split(config_dir, split)
        assert sorted(examples) == sorted(records[split])
        for name, example in examples.items():
            row = expected.row(name)
            np.testing.assert_array_equal(example["annotator_labels"], expected.labels[row])
            assert example["annotator_labels"].dtype == np.int64
            np.testing.assert_array_equal(
                example["annotator_confidences"], expected.confidences[row]
            )
            assert example["image"] == records[split][name].image
            clean = builder.info.features["clean_label"].int2str(example["clean_label"])
            assert clean == records[split][name].synset


def test_clean_labels_follow_synset_tars_and_official_validation_truth(built):
    builder, _, sample = built
    train = _read_all(builder, "train")
    for name, synset in zip(sample.train_file_names, sample.train_synsets):
        assert train[name]["clean_label"] == builder.info.features["clean_label"].str2int(synset)
    validation = _read_all(builder, "validation")
    truth = dict(zip(sample.validation_file_names, sample.validation_clean_labels))
    assert {n: ex["clean_label"] for n, ex in validation.items()} == truth


def test_annotator_features_in_metadata_and_every_example(built, tmp_path):
    builder, manual_dir, _ = built
    csv = os.path.join(manual_dir, "imagenet_pi", "high_noise", "annotator_features.csv")
    expected = annotations.read_annotator_features(csv)
    # A fresh builder reads the metadata back from disk, without reading any example.
    reloaded = tfds.builder("imagenet_pi/high_noise", data_dir=builder.data_dir_root)
    np.testing.assert_array_equal(imagenet_pi.annotator_features_of(reloaded), expected)
    example = next(iter(tfds.as_numpy(builder.as_dataset(split="validation").take(1))))
    np.testing.assert_array_equal(example["annotator_features"], expected)
    assert example["annotator_features"].shape == (16, 2)


def test_features_and_supervised_keys_match_tfds_imagenet_pi(built):
    builder, _, _ = built
    features = builder.info.features
    assert features["annotator_labels"].shape == (16,)
    assert features["annotator_labels"].np_dtype == np.int64
    assert features["annotator_confidences"].np_dtype == np.float32
    assert features["clean_label"].num_classes == 1000
    assert builder.info.supervised_keys == ("image", "annotator_labels")
    image, labels = next(iter(tfds.as_numpy(builder.as_dataset("train", as_supervised=True))))
    assert image.ndim == 3 and image.shape[-1] == 3
    assert labels.shape == (16,)


def test_tfds_load_by_name_after_import(built):
    builder, _, _ = built
    dataset = tfds.load(
        "imagenet_pi/high_noise", split="validation", data_dir=builder.data_dir_root
    )
    assert sum(1 for _ in dataset) == _NUM_VALIDATION


def test_pinned_checksums_cover_every_upstream_url():
    from imagenet_pi.annotations import releases

    pinned = imagenet_pi.Builder.url_infos
    assert internals.checksums_path(imagenet_pi.Builder).exists()
    for config in upstream.NOISE_LEVELS:
        for url in releases.upstream_urls(config).values():
            assert url in pinned, url
            assert pinned[url].size > 0 and len(pinned[url].checksum) == 64
    pins = releases.pinned_files(pinned, imagenet_pi.Builder.CSV_URL_ROOT)
    assert {pin.url for pins_of in pins.values() for pin in pins_of.values()} == set(pinned)


def test_max_examples_per_split_builds_a_truncated_dataset_without_join_error(layouts, tmp_path):
    # The generator is cut before the strict join's final check: no false "rows have no image".
    builder = in_process_builds.build(layouts["val_flat"], str(tmp_path), max_examples_per_split=2)
    assert builder.info.splits["train"].num_examples == 2
    assert builder.info.splits["validation"].num_examples == 2
    assert len(in_process_builds.examples(builder, "train")) == 2


def test_split_slicing_at_load_time(built):
    builder, _, _ = built
    num_train = builder.info.splits["train"].num_examples
    half = builder.as_dataset(split="train[:50%]")
    assert sum(1 for _ in half) == num_train // 2


@pytest.mark.parametrize("inside", ["version", "config", "dataset"])
def test_a_data_dir_inside_a_build_is_refused_naming_the_data_dir(copied_build, inside):
    # TFDS would look for imagenet_pi/high_noise/3.0.0 below it, find none and try to build
    # there, failing on a manual_dir the user never meant to give.
    version_dir = os.path.join(copied_build, "imagenet_pi", "high_noise", "3.0.0")
    given = {
        "version": version_dir,
        "config": os.path.dirname(version_dir),
        "dataset": os.path.dirname(os.path.dirname(version_dir)),
    }[inside]
    before = sorted(os.listdir(given))
    with pytest.raises(FileNotFoundError) as error:
        tfds.load("imagenet_pi/high_noise", split="train", data_dir=given)
    message = str(error.value)
    assert f"data_dir {given} is a folder inside the build of imagenet_pi/high_noise" in message
    assert f"data_dir={copied_build}" in message
    assert sorted(os.listdir(given)) == before  # nothing written there


def test_a_data_dir_named_like_the_dataset_holding_other_datasets_is_a_data_dir(
    small_sample, tmp_path
):
    # E.g. a project folder "imagenet_pi" holding a prepared imagenet2012 (and mnist, which
    # has no configs): its builds are no config of imagenet_pi.
    manual_dir, sample = small_sample
    data_dir = tmp_path / "imagenet_pi"
    for dataset, version in (("imagenet2012", "5.1.0"), ("mnist", "3.0.1")):
        os.makedirs(data_dir / dataset / version)
        (data_dir / dataset / version / "dataset_info.json").write_text(f'{{"name": "{dataset}"}}')
    builder = in_process_builds.build(manual_dir, str(data_dir))
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)
    assert built_datasets.open_built("imagenet_pi/high_noise", str(data_dir)).data_dir == (
        builder.data_dir
    )


# --- ImagenetPiConfig refuses a beta that would reach the metadata wrong, however it is made -


@pytest.mark.parametrize("beta", [0, -0.5, math.nan, math.inf, "0.3", True, [0.3]])
def test_config_refuses_a_beta_that_is_not_a_finite_positive_number(beta):
    with pytest.raises(ValueError, match="beta must be a finite number > 0") as error:
        ImagenetPiConfig(name="mine", beta=beta, annotations_dir="/abs/mine")
    assert repr(beta) in str(error.value)


@pytest.mark.parametrize("beta", [0.3, 2, np.float32(0.25), None])
def test_config_keeps_a_valid_beta_as_a_float(beta):
    config = ImagenetPiConfig(name="mine", beta=beta, annotations_dir="/abs/mine")
    assert config.beta == (None if beta is None else float(beta))
    assert config.beta is None or type(config.beta) is float


@pytest.mark.parametrize("name", ["a/b", "x:1.0.0", "a,b", "a=b", "", " mine", "mine\n"])
def test_config_refuses_a_name_tfds_cannot_parse_back(name):
    # `tfds build --config '{"name": "a/b", ...}'` would build into imagenet_pi/a/b/, which
    # `tfds.load("imagenet_pi/a/b")` cannot read.
    with pytest.raises(ValueError, match="tfds.load can parse") as error:
        ImagenetPiConfig(name=name, beta=0.3, annotations_dir="/abs/mine")
    assert repr(name) in str(error.value)


def test_config_and_relabel_share_one_check():
    # The same message from both: one function, not two that may drift apart.
    with pytest.raises(ValueError) as from_config:
        ImagenetPiConfig(name="mine", beta=-1.0)
    with pytest.raises(ValueError) as from_relabel:
        relabel.check_beta(-1.0)
    assert str(from_config.value) == str(from_relabel.value)


# --- Every TFDS file format builds and loads the examples the inputs describe --------------

FILE_FORMATS = ("tfrecord", "array_record", "parquet")
SPLITS = ("train", "validation")
_NAME = "imagenet_pi/high_noise"
_KEEP_ENCODED = {"image": tfds.decode.SkipDecoding()}


@pytest.fixture(scope="module")
def expected_examples(small_sample) -> dict[str, dict[str, dict]]:
    """split -> file name -> example, straight from the archives and the CSVs."""
    manual_dir, _ = small_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    features = annotations.read_annotator_features(config_dir)
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    expected = {}
    for split in SPLITS:
        split_annotations = annotations.read_split(config_dir, split)
        expected[split] = {}
        for record in ilsvrc.iter_split(layout, split):
            row = split_annotations.row(record.file_name)
            expected[split][record.file_name] = {
                "image": record.image,
                "file_name": record.file_name.encode(),
                "clean_label": synsets.class_index(record.synset),
                "annotator_labels": split_annotations.labels[row].astype(np.int64),
                "annotator_confidences": split_annotations.confidences[row],
                "annotator_features": features,
            }
    return expected


@pytest.fixture(params=FILE_FORMATS)
def built_in_each_format(request, small_sample, tmp_path) -> tuple[str, str]:
    """The small sample built in each file format: (data_dir, file_format).

    TFRecord and array_record are the shared builds; parquet is built here.
    """
    shared = {
        "tfrecord": "built_high_noise",
        "array_record": "built_high_noise_array_record",
    }
    file_format = request.param
    if file_format in shared:
        data_dir, _ = request.getfixturevalue(shared[file_format])
        return data_dir, file_format
    manual_dir, _ = small_sample
    builder = tfds.builder(_NAME, data_dir=str(tmp_path), file_format=file_format)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return str(tmp_path), file_format


def _load(builder: tfds.core.DatasetBuilder, split: str, file_format: str) -> list[dict]:
    if file_format == "array_record":  # TFDS reads ArrayRecord as a data source only.
        source = builder.as_data_source(split=split, decoders=_KEEP_ENCODED)
        return [source[i] for i in range(len(source))]
    dataset = builder.as_dataset(split=split, decoders=_KEEP_ENCODED)
    return list(tfds.as_numpy(dataset))


def test_file_format_is_read_back_from_the_build(built_in_each_format):
    data_dir, file_format = built_in_each_format
    assert tfds.builder(_NAME, data_dir=data_dir).info.file_format.value == file_format


def test_file_format_builds_and_loads_every_example(built_in_each_format, expected_examples):
    data_dir, file_format = built_in_each_format
    builder = tfds.builder(_NAME, data_dir=data_dir, file_format=file_format)
    for split in SPLITS:
        loaded = {
            example["file_name"].decode(): example for example in _load(builder, split, file_format)
        }
        assert sorted(loaded) == sorted(expected_examples[split])
        assert builder.info.splits[split].num_examples == len(loaded)
        for name, expected in expected_examples[split].items():
            assert sorted(loaded[name]) == sorted(expected)
            for feature, value in expected.items():
                np.testing.assert_array_equal(loaded[name][feature], value, f"{name} {feature}")


@pytest.fixture(scope="module")
def data_sources(built_high_noise_array_record) -> dict:
    """split -> the array_record build's `tfds.data_source`."""
    data_dir, _ = built_high_noise_array_record
    return tfds.data_source(
        _NAME, data_dir=data_dir, builder_kwargs={"file_format": "array_record"}
    )


@pytest.mark.parametrize("split", SPLITS)
def test_array_record_data_source_holds_every_example(data_sources, expected_examples, split):
    source = data_sources[split]
    assert len(source) == len(expected_examples[split])
    names = sorted(source[i]["file_name"].decode() for i in range(len(source)))
    assert names == sorted(expected_examples[split])


@pytest.mark.parametrize("split", SPLITS)
def test_array_record_data_source_gives_random_access(data_sources, split):
    source = data_sources[split]
    in_order = [source[i]["file_name"] for i in range(len(source))]
    backwards = [source[i]["file_name"] for i in reversed(range(len(source)))]
    assert backwards == in_order[::-1]


def test_array_record_data_source_decodes_images_and_keeps_annotator_features(data_sources):
    last = data_sources["validation"][len(data_sources["validation"]) - 1]
    assert last["image"].ndim == 3 and last["image"].shape[-1] == 3  # decoded RGB
    assert last["annotator_features"].shape == (16, 2)


# --- The generation hook on Beam ---------------------------------------------------------------


def test_on_beam_a_workers_join_error_wrapped_by_the_runner_is_raised_as_a_join_error(tmp_path):
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=str(tmp_path))
    marked = join.JoinError("1 rows of labels.csv have no image in the tar").marked()
    with (
        pytest.raises(join.JoinError, match="^1 rows of labels.csv have no image in the tar$"),
        builder.generating(on_beam=True),
    ):
        raise RuntimeError(f"Traceback ... {marked} [while running 'CheckJoin']")
