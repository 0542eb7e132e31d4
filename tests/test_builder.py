"""The imagenet_pi builder, run through TFDS's own dataset test harness and read back."""

from __future__ import annotations

import os
import shutil
import tempfile

import in_process_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import annotations, fake_data, ilsvrc, internals, upstream

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


def test_missing_manual_dir_shows_manual_download_instructions(tmp_path):
    with pytest.raises(AssertionError, match="ILSVRC2012_img_val.tar"):
        in_process_builds.build(str(tmp_path / "nowhere"), str(tmp_path / "data"))
