"""`imagenet_pi.torch_dataset.ImageNetPI` reads a built array_record dataset like tfds.load does,
with what torchvision users reach for: targets, classes, wnids, upstream order."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap

import doc_pages
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import torch
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler

import imagenet_pi
from imagenet_pi import build_checks, fake_data, synsets
from imagenet_pi.torch_dataset import ImageNetPI

_CONFIG = "high_noise"
_NUM_EXAMPLES = {
    "train": fake_data.SMALL_SAMPLE["num_synsets"] * fake_data.SMALL_SAMPLE["images_per_synset"],
    "validation": fake_data.SMALL_SAMPLE["num_validation"],
}


class CenterCropToTensor:
    """A torchvision-style transform: PIL image -> (3, size, size) float32 tensor in [0, 1]."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, image: Image.Image) -> torch.Tensor:
        left = (image.width - self.size) // 2
        top = (image.height - self.size) // 2
        image = image.crop((left, top, left + self.size, top + self.size))
        return torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)


class AddOffset:
    """A torchvision-style target transform."""

    def __call__(self, target: int) -> int:
        return target + 10_000


_TRANSFORM = CenterCropToTensor(16)  # the small sample's images are 24..32 pixels a side


@pytest.fixture(scope="module")
def built(built_high_noise_array_record, built_high_noise) -> dict[str, str]:
    """The small sample's data_dirs: array_record (ours) and tfrecord (for tfds.load)."""
    return {"array_record": built_high_noise_array_record[0], "tfrecord": built_high_noise[0]}


def _tfds_load_examples(data_dir: str, split: str) -> dict[str, dict]:
    """tfds.load's examples by file name; images decoded by TF (dct_method as PIL's libjpeg)."""
    dataset = tfds.load(
        f"imagenet_pi/{_CONFIG}",
        split=split,
        data_dir=data_dir,
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    examples = {}
    for example in tfds.as_numpy(dataset):
        example["image"] = tf.io.decode_jpeg(
            example["image"], channels=3, dct_method="INTEGER_ACCURATE"
        ).numpy()
        examples[example["file_name"].decode()] = example
    return examples


# A training script's start: build the dataset, then let DataLoader fork 2 workers (Linux's
# default), in a fresh process as a user would.
_FORKED_LOADER_SCRIPT = """
import sys

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from imagenet_pi.torch_dataset import ImageNetPI

{transforms}

data_dir, config, out = sys.argv[1:]
examples = {{}}
for split in ("train", "validation"):
    dataset = ImageNetPI(
        data_dir,
        split=split,
        config=config,
        transform=CenterCropToTensor(16),
        target_transform=AddOffset(),
        as_dict=True,
    )
    loader = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=2)
    assert loader.multiprocessing_context is None  # the platform's default: fork on Linux
    for batch in loader:
        for i, file_name in enumerate(batch["file_name"]):
            examples[split, file_name] = {{key: values[i] for key, values in batch.items()}}
torch.save(examples, out)
"""


@pytest.mark.slow
def test_dataloader_with_two_forked_workers_gives_every_tfds_load_example(built, tmp_path):
    out = tmp_path / "examples.pt"
    script = _FORKED_LOADER_SCRIPT.format(
        transforms=inspect.getsource(CenterCropToTensor) + "\n" + inspect.getsource(AddOffset)
    )
    result = subprocess.run(
        [sys.executable, "-c", script, built["array_record"], _CONFIG, str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ours = torch.load(out)

    for split, num_examples in _NUM_EXAMPLES.items():
        expected = _tfds_load_examples(built["tfrecord"], split)
        assert len(expected) == num_examples
        assert sorted(name for s, name in ours if s == split) == sorted(expected)
        for file_name, reference in expected.items():
            example = ours[split, file_name]
            assert set(example) == set(reference)
            torch.testing.assert_close(
                example["image"], _TRANSFORM(Image.fromarray(reference["image"])), rtol=0, atol=0
            )
            assert example["clean_label"] == reference["clean_label"] + 10_000
            assert example["annotator_labels"].dtype == torch.int64
            np.testing.assert_array_equal(
                example["annotator_labels"], reference["annotator_labels"]
            )
            assert example["annotator_confidences"].dtype == torch.float32
            np.testing.assert_array_equal(
                example["annotator_confidences"], reference["annotator_confidences"]
            )
            np.testing.assert_array_equal(
                example["annotator_features"], reference["annotator_features"]
            )


def test_forking_workers_after_reading_in_the_main_process_raises_clearly(built):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG, as_dict=True)
    dataset[0]  # array_record cannot read in a process forked after this
    loader = DataLoader(dataset, batch_size=4, num_workers=1, multiprocessing_context="fork")
    with pytest.raises(RuntimeError, match="forked from process .* after that process had read"):
        next(iter(loader))


def test_tuple_items_are_image_clean_target_confidences_and_annotator_labels(built):
    image, clean_target, confidences, annotator_labels = ImageNetPI(
        built["array_record"], split="train", config=_CONFIG
    )[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    assert isinstance(clean_target, int)
    assert confidences.shape == (16,) and confidences.dtype == torch.float32
    assert annotator_labels.shape == (16,) and annotator_labels.dtype == torch.int64


def test_tuple_and_dict_forms_give_the_same_example_at_each_index(built):
    tuples = ImageNetPI(built["array_record"], split="train", config=_CONFIG)
    dicts = ImageNetPI(built["array_record"], split="train", config=_CONFIG, as_dict=True)
    for index in range(len(tuples)):
        image, clean_target, confidences, annotator_labels = tuples[index]
        example = dicts[index]
        np.testing.assert_array_equal(np.asarray(image), np.asarray(example["image"]))
        assert clean_target == example["clean_label"]
        torch.testing.assert_close(confidences, example["annotator_confidences"])
        torch.testing.assert_close(annotator_labels, example["annotator_labels"])


def test_dict_form_holds_every_feature_of_the_builder(built):
    dataset = ImageNetPI(built["array_record"], split="validation", config=_CONFIG, as_dict=True)
    builder = tfds.builder(f"imagenet_pi/{_CONFIG}", data_dir=built["array_record"])
    assert set(dataset[-1]) == set(builder.info.features)


def test_dict_form_file_name_is_the_upstream_str(built):
    dataset = ImageNetPI(built["array_record"], split="validation", config=_CONFIG, as_dict=True)
    assert re.fullmatch(r"ILSVRC2012_val_\d{8}\.JPEG", dataset[-1]["file_name"])


def test_dict_form_annotator_features_are_the_datasets(built):
    dataset = ImageNetPI(built["array_record"], split="validation", config=_CONFIG, as_dict=True)
    example = dataset[-1]
    assert example["annotator_features"].shape == (16, 2)
    torch.testing.assert_close(example["annotator_features"], dataset.annotator_features)


def test_annotator_features_property_is_the_builders_metadata(built):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG)
    builder = tfds.builder(f"imagenet_pi/{_CONFIG}", data_dir=built["array_record"])
    features = dataset.annotator_features
    assert features.shape == (16, 2) and features.dtype == torch.float32
    np.testing.assert_array_equal(features.numpy(), imagenet_pi.annotator_features_of(builder))


def test_val_is_upstreams_name_for_the_validation_split(built):
    dataset = ImageNetPI(built["array_record"], split="val", config=_CONFIG, as_dict=True)
    assert dataset.split == "validation"
    assert len(dataset) == _NUM_EXAMPLES["validation"]
    assert dataset[0]["file_name"].startswith("ILSVRC2012_val_")


def test_tfds_split_strings_select_a_slice(built):
    dataset = ImageNetPI(built["array_record"], split="train[:50%]", config=_CONFIG)
    assert len(dataset) == _NUM_EXAMPLES["train"] // 2


def test_tfds_read_instructions_select_a_slice(built):
    half = tfds.core.ReadInstruction("train", to=50, unit="%")
    dataset = ImageNetPI(built["array_record"], split=half, config=_CONFIG)
    assert len(dataset) == _NUM_EXAMPLES["train"] // 2


def test_clean_target_indexes_the_synsets(built):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG, as_dict=True)
    assert len(dataset.synsets) == 1000 and dataset.synsets == sorted(dataset.synsets)
    for index in range(len(dataset)):
        example = dataset[index]
        assert dataset.synsets[example["clean_label"]] == example["file_name"].split("_")[0]


def test_distributed_sampler_ranks_read_every_example_exactly_once(built):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG, as_dict=True)
    file_names_per_rank = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=3)
        sampler.set_epoch(1)
        loader = DataLoader(dataset, batch_size=4, sampler=sampler, collate_fn=list)
        file_names_per_rank.append([ex["file_name"] for batch in loader for ex in batch])
    every_file_name = [dataset[i]["file_name"] for i in range(len(dataset))]
    assert [len(names) for names in file_names_per_rank] == [len(dataset) // 2] * 2
    assert sorted(file_names_per_rank[0] + file_names_per_rank[1]) == sorted(every_file_name)


def test_dataset_pickles_to_its_arguments_and_reopens(built):
    dataset = ImageNetPI(
        built["array_record"], split="train", config=_CONFIG, transform=_TRANSFORM, as_dict=True
    )
    first = dataset[0]  # opens readers, which must not travel with the pickle
    state = dataset.__getstate__()
    assert set(state) == {
        "data_dir", "split", "config", "transform", "target_transform", "as_dict"
    }  # fmt: skip
    copy = pickle.loads(pickle.dumps(dataset))
    assert len(copy) == len(dataset)
    assert copy[0]["file_name"] == first["file_name"]
    torch.testing.assert_close(copy[0]["image"], first["image"])


@pytest.mark.slow
def test_forkserver_workers_read_after_the_main_process_has_read(built):
    # Workers that do not fork from the main process (forkserver, spawn: the default on macOS
    # and Windows) get the dataset by pickle, and may start after the main process has read.
    dataset = ImageNetPI(built["array_record"], split="validation", config=_CONFIG, as_dict=True)
    every_file_name = sorted(dataset[i]["file_name"] for i in range(len(dataset)))
    loader = DataLoader(
        dataset, batch_size=4, num_workers=1, multiprocessing_context="forkserver", collate_fn=list
    )
    examples = [example for batch in loader for example in batch]
    assert sorted(example["file_name"] for example in examples) == every_file_name
    assert all(isinstance(example["image"], Image.Image) for example in examples)


def test_missing_dataset_names_the_array_record_build_command(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        ImageNetPI(tmp_path, split="train", config=_CONFIG)
    message = str(error.value)
    assert f"imagenet_pi/{_CONFIG} is not built in {tmp_path}" in message
    assert "dataset_info.json" in message
    assert (
        f"tfds build imagenet_pi/{_CONFIG} --imports imagenet_pi --file_format array_record"
        in message
    )
    assert f"--data_dir {tmp_path}" in message


def test_tfrecord_build_says_to_rebuild_as_array_record(built):
    with pytest.raises(ValueError, match="built as tfrecord") as error:
        ImageNetPI(built["tfrecord"], split="train", config=_CONFIG)
    assert "--file_format array_record" in str(error.value)


def test_importing_the_package_does_not_import_torch_and_missing_torch_names_the_extra():
    script = textwrap.dedent(
        """
        import sys
        import imagenet_pi
        assert "torch" not in sys.modules, "import imagenet_pi imported torch"
        sys.modules["torch"] = None  # as if torch were not installed
        try:
            import imagenet_pi.torch_dataset
        except ImportError as error:
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'pip install "imagenet_pi[torch]"' in result.stdout


@pytest.mark.slow
def test_readme_training_loop_runs_as_written(built, tmp_path):
    result = doc_pages.run_python_block(
        "torch-training-loop", tmp_path, DATA_DIR=built["array_record"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"epoch 0: loss \d+\.\d+", result.stdout), result.stdout


@pytest.mark.parametrize("split", [None, "", 0, ["train"]])
def test_missing_or_non_string_split_is_refused_naming_the_splits(built, split):
    with pytest.raises(ValueError) as error:
        ImageNetPI(built["array_record"], split=split, config=_CONFIG)
    message = str(error.value)
    assert message.startswith("split: expected 'train', 'validation' (or 'val'), or a TFDS split")
    assert message.endswith(f"found {split!r}")


@pytest.mark.parametrize("index", [1.5, "3", None, slice(0, 2), [0, 1]])
def test_an_index_that_is_not_an_integer_gives_a_type_error_naming_it(built, index):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG)
    name = type(index).__name__
    with pytest.raises(TypeError, match=rf"ImageNetPI indices must be integers, not {name}"):
        dataset[index]


@pytest.mark.parametrize("index", [_NUM_EXAMPLES["train"], -_NUM_EXAMPLES["train"] - 1, 10**12])
def test_an_index_out_of_range_gives_an_index_error_naming_the_range(built, index):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG)
    last = _NUM_EXAMPLES["train"] - 1
    message = rf"index {index} is out of range.*\(indices -{last + 1}\.\.{last}\)"
    with pytest.raises(IndexError, match=message):
        dataset[index]


def test_negative_and_numpy_indices_count_as_in_a_python_sequence(built):
    dataset = ImageNetPI(built["array_record"], split="train", config=_CONFIG, as_dict=True)
    last = len(dataset) - 1
    assert dataset[-1]["file_name"] == dataset[last]["file_name"]
    assert dataset[-len(dataset)]["file_name"] == dataset[0]["file_name"]
    assert dataset[np.int64(2)]["file_name"] == dataset[2]["file_name"]
    assert dataset[torch.tensor(2)]["file_name"] == dataset[2]["file_name"]
    names = [item["file_name"] for item in dataset.__getitems__([0, -1])]
    assert names == [dataset[0]["file_name"], dataset[last]["file_name"]]


def _version_dir(data_dir: str) -> str:
    return os.fspath(tfds.builder(f"imagenet_pi/{_CONFIG}", data_dir=data_dir).data_path)


@pytest.mark.parametrize("levels_up", [0, 1, 2])  # the version, config, imagenet_pi folder
def test_a_data_dir_inside_the_build_is_recognised(built, levels_up):
    data_dir = _version_dir(built["array_record"])
    for _ in range(levels_up):
        data_dir = os.path.dirname(data_dir)
    dataset = ImageNetPI(data_dir, split="validation", config=_CONFIG, as_dict=True)
    reference = ImageNetPI(built["array_record"], split="validation", config=_CONFIG, as_dict=True)
    assert len(dataset) == len(reference) == _NUM_EXAMPLES["validation"]
    assert [item["file_name"] for item in dataset] == [item["file_name"] for item in reference]


def test_the_version_folder_of_another_config_says_which_data_dir_to_pass(built):
    version_dir = _version_dir(built["array_record"])
    with pytest.raises(FileNotFoundError) as error:
        ImageNetPI(version_dir, split="train", config="low_noise")
    message = str(error.value)
    assert f"data_dir {version_dir} is inside the build of imagenet_pi/{_CONFIG}" in message
    assert f"data_dir={built['array_record']}" in message


# --- What torchvision users reach for: targets, classes, wnids, upstream order -------------


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
    # A build that wrote no index recorded none (one that did, and lost it, is damaged).
    metadata_file = version_dir / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    del metadata[build_checks.METADATA_KEY]["example_index-train.npz"]
    metadata_file.write_text(json.dumps(metadata))
    train = ImageNetPI(str(copy), split="train", config=_CONFIG)
    with pytest.raises(ValueError, match=r"no example index for split 'train'.*as_dict=True"):
        _ = train.targets
    with pytest.raises(ValueError, match="no example index"):
        _ = train.upstream_order
    assert ImageNetPI(str(copy), split="validation", config=_CONFIG).targets  # still there


def test_readme_upstream_order_snippet_runs_as_written(data_dir, tmp_path):
    result = doc_pages.run_python_block("torch-upstream-order", tmp_path, DATA_DIR=data_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    train = ImageNetPI(data_dir, split="train", config=_CONFIG)
    assert result.stdout.strip() == str(train.classes[train.targets[0]])
