"""`ImageNetPI` has what torchvision users reach for: targets, classes, wnids, upstream order."""

from __future__ import annotations

import os
import shutil

import doc_pages
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import synsets
from imagenet_pi.torch_dataset import ImageNetPI

_CONFIG = "high_noise"


@pytest.fixture(scope="module")
def data_dir(built_high_noise_array_record) -> str:
    """The small sample built as array_record, several shards a split: slices cross shards."""
    data_dir, _ = built_high_noise_array_record
    builder = tfds.builder(f"imagenet_pi/{_CONFIG}", data_dir=data_dir)
    assert all(len(split.shard_lengths) > 1 for split in builder.info.splits.values())
    return data_dir


def _read_every_item(dataset: ImageNetPI) -> list[dict]:
    return [dataset[index] for index in range(len(dataset))]


@pytest.mark.parametrize(
    "split",
    ["train", "validation", "val", "train[:50%]", "train[5:9]", "validation[:3]+train[-4:]"],
)
def test_targets_are_the_clean_labels_in_index_order(data_dir, split):
    dataset = ImageNetPI(data_dir, split=split, config=_CONFIG, as_dict=True)
    targets = dataset.targets
    assert isinstance(targets, list) and all(isinstance(target, int) for target in targets)
    assert targets == [item["clean_label"] for item in _read_every_item(dataset)]


def test_targets_read_no_record_and_decode_no_image(data_dir, monkeypatch):
    dataset = ImageNetPI(data_dir, split="train", config=_CONFIG)
    expected = [dataset[index][1] for index in range(len(dataset))]
    fresh = ImageNetPI(data_dir, split="train", config=_CONFIG)

    def forbidden(*args, **kwargs):
        raise AssertionError("targets read a record or decoded an image")

    source_type = type(fresh._open())
    monkeypatch.setattr(source_type, "__getitem__", forbidden)
    monkeypatch.setattr(source_type, "__getitems__", forbidden)
    monkeypatch.setattr("PIL.Image.open", forbidden)
    assert fresh.targets == expected


def test_upstream_order_is_by_class_then_file_name(data_dir):
    for split in ("train", "validation", "train[5:]"):
        dataset = ImageNetPI(data_dir, split=split, config=_CONFIG, as_dict=True)
        items = _read_every_item(dataset)
        order = dataset.upstream_order
        assert sorted(order) == list(range(len(dataset)))
        in_order = [(items[index]["clean_label"], items[index]["file_name"]) for index in order]
        assert in_order == sorted(in_order)
        # TFDS's index order is not upstream's: the sample has enough examples to tell.
        assert order != list(range(len(dataset)))


def test_wnids_and_wnid_to_idx_are_the_synsets(data_dir):
    dataset = ImageNetPI(data_dir, split="val", config=_CONFIG)
    assert dataset.wnids == list(synsets.synsets()) == dataset.synsets
    assert dataset.wnid_to_idx["n01440764"] == 0
    assert all(dataset.wnid_to_idx[wnid] == index for index, wnid in enumerate(dataset.wnids))


def test_classes_are_name_tuples_and_class_to_idx_maps_every_name(data_dir):
    dataset = ImageNetPI(data_dir, split="train", config=_CONFIG)
    classes = dataset.classes
    assert len(classes) == 1000 and all(isinstance(names, tuple) for names in classes)
    assert classes[0] == ("tench", "Tinca tinca")
    class_to_idx = dataset.class_to_idx
    assert class_to_idx["tench"] == class_to_idx["Tinca tinca"] == 0
    # Like torchvision's ImageNet: every name of every class, a shared name to the last class.
    for names in classes:
        for name in names:
            last = max(i for i, others in enumerate(classes) if name in others)
            assert class_to_idx[name] == last
    assert set(class_to_idx) == {name for names in classes for name in names}


def test_classes_fall_back_to_wnids_without_a_names_list(data_dir, monkeypatch):
    monkeypatch.setattr(synsets, "class_names", lambda: None)
    dataset = ImageNetPI(data_dir, split="train", config=_CONFIG)
    assert dataset.classes[:2] == [("n01440764",), ("n01443537",)]
    assert dataset.class_to_idx["n01443537"] == 1


def test_build_without_example_index_names_it_and_the_slow_way(data_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    version_dir = tfds.builder(f"imagenet_pi/{_CONFIG}", data_dir=str(copy)).data_path
    os.remove(version_dir / "example_index-train.npz")
    train = ImageNetPI(str(copy), split="train", config=_CONFIG)
    with pytest.raises(ValueError, match=r"no example index for split 'train'.*as_dict=True"):
        _ = train.targets
    with pytest.raises(ValueError, match="no example index"):
        _ = train.upstream_order
    assert ImageNetPI(str(copy), split="validation", config=_CONFIG).targets  # still there


@pytest.mark.slow
def test_targets_follow_the_order_a_beam_build_writes(small_sample, tmp_path):
    import apache_beam as beam

    manual_dir, _ = small_sample
    builder = tfds.builder(
        f"imagenet_pi/{_CONFIG}", data_dir=str(tmp_path), file_format="array_record"
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir,
            beam_options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"]),
        )
    )
    for split in ("train", "validation"):
        dataset = ImageNetPI(str(tmp_path), split=split, config=_CONFIG, as_dict=True)
        assert dataset.targets == [item["clean_label"] for item in _read_every_item(dataset)]


def test_readme_upstream_order_snippet_runs_as_written(data_dir, tmp_path):
    result = doc_pages.run_python_block("torch-upstream-order", tmp_path, DATA_DIR=data_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    train = ImageNetPI(data_dir, split="train", config=_CONFIG)
    assert result.stdout.strip() == str(train.classes[train.targets[0]])
