"""Every form of ILSVRC2012 in the manual_dir builds the same dataset; bad folders fail clearly."""

from __future__ import annotations

import io
import logging
import os
import pickle
import shutil
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from imagenet_pi import fake_data, ilsvrc, join, upstream
from imagenet_pi.ilsvrc import image_fixes

# Odd images in both splits, so that every form must convert them alike.
_SAMPLE = {**fake_data.SMALL_SAMPLE, "num_cmyk": 1, "num_png": 1}
_FORMS = ("tars", *fake_data.FOLDER_LAYOUTS, "prepared")


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict[str, str]:
    """One synthetic sample as a manual_dir per form: form -> manual_dir."""
    root = tmp_path_factory.mktemp("forms")
    tars = str(root / "tars")
    sample = fake_data.write_sample(tars, configs=["high_noise"], **_SAMPLE)
    manual_dirs = {"tars": tars}
    for layout in fake_data.FOLDER_LAYOUTS:
        manual_dirs[layout] = fake_data.extract_to_folders(sample, root / layout, layout)
    fake_data.prepare_imagenet2012(sample, root / "prepared")
    manual_dirs["prepared"] = str(root / "prepared")
    return manual_dirs


def _build(manual_dir: str, data_dir: str, **download_kwargs) -> tfds.core.DatasetBuilder:
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, **download_kwargs)
    )
    return builder


def _examples(builder: tfds.core.DatasetBuilder, split: str) -> dict[str, dict]:
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    return {ex["file_name"].decode(): ex for ex in tfds.as_numpy(dataset)}


@pytest.fixture(scope="module")
def built(forms, tmp_path_factory) -> dict[str, tfds.core.DatasetBuilder]:
    data_root = tmp_path_factory.mktemp("built")
    return {form: _build(manual_dir, str(data_root / form)) for form, manual_dir in forms.items()}


def test_each_form_is_detected_as_itself(forms):
    expected = {
        "tars": ilsvrc.TarLayout,
        "val_flat": ilsvrc.FolderLayout,
        "val_synsets": ilsvrc.FolderLayout,
        "kaggle": ilsvrc.FolderLayout,
        "prepared": ilsvrc.PreparedImagenet2012Layout,
    }
    for form, manual_dir in forms.items():
        source = ilsvrc.detect_layout(manual_dir)
        assert type(source) is expected[form], form
    assert ilsvrc.detect_layout(forms["kaggle"]).kind == "Kaggle layout"
    assert ilsvrc.detect_layout(forms["val_flat"]).train_dir == os.path.join(
        forms["val_flat"], "train"
    )


@pytest.mark.parametrize("form", [f for f in _FORMS if f != "tars"])
def test_every_form_builds_the_dataset_the_tars_build(built, form):
    for split in upstream.SPLITS:
        expected, found = _examples(built["tars"], split), _examples(built[form], split)
        assert sorted(found) == sorted(expected)
        for name, example in found.items():
            assert example["image"] == expected[name]["image"], name
            assert example["clean_label"] == expected[name]["clean_label"], name
            for key in ("annotator_labels", "annotator_confidences", "annotator_features"):
                np.testing.assert_array_equal(example[key], expected[name][key])
        assert built[form].info.splits[split].num_examples == len(expected)


def test_metadata_names_the_form_read(built, forms):
    assert "TFDS-prepared imagenet2012" in built["prepared"].info.metadata["images_source"]
    assert forms["kaggle"] in built["kaggle"].info.metadata["images_source"]


def test_validation_shards_are_sorted_runs_of_files(forms):
    shards = ilsvrc.detect_layout(forms["val_synsets"]).parts("validation")
    names = [os.path.basename(path) for shard in shards for path, _ in shard.files]
    assert names == sorted(names) == [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 7)]


def test_prepared_form_reads_one_shard_per_tfrecord_file(forms):
    source = ilsvrc.detect_layout(forms["prepared"])
    for split, prepared_split in (("train", "train"), ("validation", "validation")):
        shards = source.parts(split)
        assert [os.path.basename(s.path) for s in shards] == [
            f"imagenet2012-{prepared_split}.tfrecord-00000-of-00001"
        ]


@pytest.mark.parametrize("form", _FORMS)
def test_shards_survive_pickling_for_beam_workers(forms, form):
    source = ilsvrc.detect_layout(forms[form])
    for split in upstream.SPLITS:
        shards = source.parts(split)
        copies = pickle.loads(pickle.dumps(shards))
        assert [r.image for s in copies for r in s.read()] == [
            r.image for s in shards for r in s.read()
        ]


def test_prepared_form_takes_priority_over_tars_and_says_why(forms, tmp_path, caplog):
    manual_dir = tmp_path / "both"
    shutil.copytree(forms["tars"], manual_dir)
    os.symlink(os.path.join(forms["prepared"], "imagenet2012"), manual_dir / "imagenet2012")
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        source = ilsvrc.detect_layout(manual_dir)
    assert isinstance(source, ilsvrc.PreparedImagenet2012Layout)
    assert "also there, ignored: ILSVRC2012 tars" in caplog.text
    assert "priority: TFDS-prepared imagenet2012, ILSVRC2012 tars" in caplog.text


def test_tars_take_priority_over_folders_and_incomplete_forms_are_named(forms, tmp_path, caplog):
    manual_dir = tmp_path / "mixed"
    shutil.copytree(forms["tars"], manual_dir)
    shutil.copytree(os.path.join(forms["val_flat"], "train"), manual_dir / "train")
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        source = ilsvrc.detect_layout(manual_dir)
    assert isinstance(source, ilsvrc.TarLayout)
    assert "ignored: extracted folders (incomplete)" in caplog.text


def test_prepared_version_folder_linked_directly(forms, tmp_path):
    version_dir = ilsvrc.find_prepared_imagenet2012(forms["prepared"])
    os.symlink(version_dir, tmp_path / "imagenet2012")
    source = ilsvrc.detect_layout(tmp_path)
    assert source.version_dir == str(tmp_path / "imagenet2012")


def test_newest_prepared_version_is_used(forms, tmp_path):
    root = tmp_path / "imagenet2012"
    root.mkdir()
    version_dir = ilsvrc.find_prepared_imagenet2012(forms["prepared"])
    for version in ("5.0.0", "5.1.0", "10.0.0"):
        os.symlink(version_dir, root / version)
    (root / "5.1.0.incomplete").mkdir()  # not a version
    assert ilsvrc.find_prepared_imagenet2012(str(tmp_path)) == str(root / "10.0.0")


def test_nothing_found_lists_every_form_with_its_paths(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(ilsvrc.IlsvrcError) as error:
        ilsvrc.detect_layout(tmp_path)
    message = str(error.value)
    for expected in (
        os.path.join(tmp_path, "imagenet2012", "<version>", "dataset_info.json") + " (missing)",
        os.path.join(tmp_path, upstream.TRAIN_TAR) + " (missing)",
        os.path.join(tmp_path, upstream.VAL_TAR) + " (missing)",
        os.path.join(tmp_path, "train") + os.sep + " (found)",
        os.path.join(tmp_path, "val") + os.sep + " (missing)",
        os.path.join(tmp_path, "ILSVRC", "Data", "CLS-LOC", "train") + os.sep,
        "image-net.org",
    ):
        assert expected in message


def test_max_examples_per_split_builds_a_truncated_dataset_without_join_error(forms, tmp_path):
    # The generator is cut before the strict join's final check: no false "rows have no image".
    builder = _build(forms["val_flat"], str(tmp_path), max_examples_per_split=2)
    assert builder.info.splits["train"].num_examples == 2
    assert builder.info.splits["validation"].num_examples == 2
    assert len(_examples(builder, "train")) == 2


def test_split_slicing_at_load_time(built):
    builder = built["tars"]
    num_train = builder.info.splits["train"].num_examples
    half = builder.as_dataset(split="train[:50%]")
    assert sum(1 for _ in half) == num_train // 2


# Broken folders.


def _folder_copy(forms, tmp_path, layout: str = "val_flat") -> str:
    manual_dir = str(tmp_path / "copy")
    shutil.copytree(forms[layout], manual_dir)
    return manual_dir


def _read_split(manual_dir: str, split: str) -> list[ilsvrc.ImageRecord]:
    return list(ilsvrc.iter_split(ilsvrc.detect_layout(manual_dir), split))


def test_image_in_the_wrong_train_folder_is_an_error(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    train = os.path.join(manual_dir, "train")
    first, second = sorted(os.listdir(train))[:2]
    image = sorted(os.listdir(os.path.join(train, first)))[0]
    os.rename(os.path.join(train, first, image), os.path.join(train, second, image))
    with pytest.raises(ilsvrc.IlsvrcError, match=f"of synset {first} is in the folder of {second}"):
        _read_split(manual_dir, "train")


def test_validation_synset_folder_disagreeing_with_ground_truth_is_an_error(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path, "val_synsets")
    val = os.path.join(manual_dir, "val")
    folder = sorted(os.listdir(val))[0]
    image = sorted(os.listdir(os.path.join(val, folder)))[0]
    wrong = "n01440764" if folder != "n01440764" else "n01443537"
    os.makedirs(os.path.join(val, wrong), exist_ok=True)
    os.rename(os.path.join(val, folder, image), os.path.join(val, wrong, image))
    with pytest.raises(ilsvrc.IlsvrcError, match="official ILSVRC2012 ground truth") as error:
        _read_split(manual_dir, "validation")
    assert os.path.join(val, wrong, image) in str(error.value)


def test_unextracted_synset_tars_in_train_folder_say_what_to_do(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    open(os.path.join(manual_dir, "train", "n01440764.tar"), "wb").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="per-synset tars are not extracted"):
        _read_split(manual_dir, "train")


def test_folder_not_named_after_a_synset_is_an_error(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    os.makedirs(os.path.join(manual_dir, "train", "cats"))
    with pytest.raises(ilsvrc.IlsvrcError, match="train/cats is not a synset folder"):
        _read_split(manual_dir, "train")


def test_unknown_file_in_val_folder_is_an_error(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path, "kaggle")
    val = os.path.join(manual_dir, "ILSVRC", "Data", "CLS-LOC", "val")
    open(os.path.join(val, "LOC_val_solution.csv"), "w").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="LOC_val_solution.csv.*not an ILSVRC2012 val"):
        _read_split(manual_dir, "validation")


def test_hidden_files_are_ignored(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    open(os.path.join(manual_dir, "train", ".DS_Store"), "w").close()
    open(os.path.join(manual_dir, "val", "._ILSVRC2012_val_00000001.JPEG"), "w").close()
    assert len(_read_split(manual_dir, "validation")) == _SAMPLE["num_validation"]


def test_empty_image_file_is_an_error_naming_it(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    path = os.path.join(manual_dir, "val", "ILSVRC2012_val_00000003.JPEG")
    open(path, "wb").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="is an empty file") as error:
        _read_split(manual_dir, "validation")
    assert path in str(error.value)


def test_garbage_image_file_is_an_error_naming_it(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    train = os.path.join(manual_dir, "train")
    synset = sorted(os.listdir(train))[-1]
    path = os.path.join(train, synset, sorted(os.listdir(os.path.join(train, synset)))[0])
    with open(path, "wb") as f:
        f.write(b"<html>404 Not Found</html>")
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        _read_split(manual_dir, "train")
    assert path in str(error.value)


def test_unreadable_image_files_are_errors_naming_them(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    broken_link = os.path.join(manual_dir, "val", "ILSVRC2012_val_00000002.JPEG")
    os.remove(broken_link)
    os.symlink(os.path.join(tmp_path, "unmounted", "ILSVRC2012_val_00000002.JPEG"), broken_link)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read .FileNotFoundError") as error:
        _read_split(manual_dir, "validation")
    assert broken_link in str(error.value)
    synset_dir = os.path.join(manual_dir, "train", sorted(os.listdir(manual_dir + "/train"))[0])
    not_a_file = os.path.join(synset_dir, "n01440764_1.JPEG")
    os.mkdir(not_a_file)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read .IsADirectoryError") as error:
        _read_split(manual_dir, "train")
    assert not_a_file in str(error.value)


def test_missing_val_folder_is_reported_with_what_was_found(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    shutil.rmtree(os.path.join(manual_dir, "val"))
    with pytest.raises(ilsvrc.IlsvrcError, match=r"train/ \(found\) and .*val/ \(missing\)"):
        ilsvrc.detect_layout(manual_dir)


def test_images_missing_from_folders_fail_the_join(forms, tmp_path):
    manual_dir = _folder_copy(forms, tmp_path)
    os.remove(os.path.join(manual_dir, "val", "ILSVRC2012_val_00000004.JPEG"))
    with pytest.raises(join.JoinError, match="ILSVRC2012_val_00000004.JPEG"):
        _build(manual_dir, str(tmp_path / "data"))


# Broken prepared imagenet2012.


def _prepared_copy(forms, tmp_path) -> str:
    manual_dir = str(tmp_path / "copy")
    shutil.copytree(forms["prepared"], manual_dir)
    return ilsvrc.find_prepared_imagenet2012(manual_dir)


def test_prepared_dataset_of_another_name_is_an_error(forms, tmp_path):
    version_dir = _prepared_copy(forms, tmp_path)
    info_path = os.path.join(version_dir, "dataset_info.json")
    with open(info_path) as f:
        info = f.read()
    with open(info_path, "w") as f:
        f.write(info.replace('"name": "imagenet2012"', '"name": "imagenette"'))
    with pytest.raises(ilsvrc.IlsvrcError, match="holds the dataset 'imagenette'"):
        ilsvrc.detect_layout(os.path.dirname(os.path.dirname(version_dir)))


def test_prepared_dataset_missing_a_file_is_an_error(forms, tmp_path):
    version_dir = _prepared_copy(forms, tmp_path)
    missing = os.path.join(version_dir, "imagenet2012-train.tfrecord-00000-of-00001")
    os.remove(missing)
    with pytest.raises(ilsvrc.IlsvrcError, match="1 of the 1 train files are missing") as error:
        ilsvrc.detect_layout(os.path.dirname(os.path.dirname(version_dir)))
    assert missing in str(error.value)


def test_corrupt_tfrecord_file_is_an_error_naming_it(forms, tmp_path):
    version_dir = _prepared_copy(forms, tmp_path)
    path = os.path.join(version_dir, "imagenet2012-validation.tfrecord-00000-of-00001")
    with open(path, "r+b") as f:  # damaged in place: the size is right, a checksum is not
        f.seek(os.path.getsize(path) - 100)
        f.write(b"\0" * 50)
    with pytest.raises(ilsvrc.IlsvrcError, match="truncated or corrupt") as error:
        _read_split(os.path.dirname(os.path.dirname(version_dir)), "validation")
    assert path in str(error.value)


# Several prepared versions, one of them half copied.


def _two_versions(forms, tmp_path, damage_newer) -> tuple[str, str, str]:
    """A manual_dir with a complete 5.1.0 and a damaged copy as 9.9.9: (dir, 5.1.0, 9.9.9)."""
    manual_dir = str(tmp_path / "two_versions")
    shutil.copytree(forms["prepared"], manual_dir)
    complete = ilsvrc.find_prepared_imagenet2012(manual_dir)
    root = os.path.dirname(complete)
    if os.path.basename(complete) != "5.1.0":
        os.rename(complete, os.path.join(root, "5.1.0"))
        complete = os.path.join(root, "5.1.0")
    newer = os.path.join(root, "9.9.9")
    shutil.copytree(complete, newer)
    damage_newer(newer)
    return manual_dir, complete, newer


def _remove_train_files(version_dir: str) -> None:
    for name in os.listdir(version_dir):
        if "-train.tfrecord-" in name:
            os.remove(os.path.join(version_dir, name))


def _cut_a_train_file(version_dir: str) -> None:
    (name,) = [name for name in os.listdir(version_dir) if "-train.tfrecord-" in name]
    path = os.path.join(version_dir, name)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


_DAMAGES = {
    "train files missing": (_remove_train_files, "1 of the 1 train files are missing"),
    "a train file cut short": (_cut_a_train_file, "but its dataset_info.json says"),
}


@pytest.mark.parametrize("damage", sorted(_DAMAGES))
def test_half_copied_newer_version_is_skipped_for_the_complete_one(forms, tmp_path, caplog, damage):
    damage_newer, lacks = _DAMAGES[damage]
    manual_dir, complete, newer = _two_versions(forms, tmp_path, damage_newer)
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        source = ilsvrc.detect_layout(manual_dir)
    assert source.version_dir == complete
    assert f"Skipped {newer}: {newer}:" in caplog.text
    assert lacks in caplog.text
    assert f"Reading {complete}, the newest complete imagenet2012 there" in caplog.text


def test_build_reads_the_complete_version_beside_a_half_copied_newer_one(forms, tmp_path):
    manual_dir, complete, _ = _two_versions(forms, tmp_path, _remove_train_files)
    builder = _build(manual_dir, str(tmp_path / "data"))
    assert builder.info.metadata["images_source"] == f"TFDS-prepared imagenet2012 {complete}"
    assert (
        builder.info.splits["train"].num_examples
        == _SAMPLE["num_synsets"] * _SAMPLE["images_per_synset"]
    )


def test_no_complete_version_names_what_each_lacks(forms, tmp_path):
    manual_dir, complete, newer = _two_versions(forms, tmp_path, _remove_train_files)
    _cut_a_train_file(complete)
    with pytest.raises(ilsvrc.IlsvrcError) as error:
        ilsvrc.detect_layout(manual_dir)
    message = str(error.value)
    assert message.startswith(f"No complete imagenet2012 in {os.path.dirname(complete)}")
    assert f"{newer}: 1 of the 1 train files are missing" in message
    assert f"{complete}: its 1 train files hold" in message
    assert "Copy one version folder whole, or prepare imagenet2012 again" in message


def test_a_single_version_cut_short_is_refused_before_reading(forms, tmp_path):
    version_dir = _prepared_copy(forms, tmp_path)
    _cut_a_train_file(version_dir)
    with pytest.raises(ilsvrc.IlsvrcError, match="but its dataset_info.json says") as error:
        ilsvrc.detect_layout(os.path.dirname(os.path.dirname(version_dir)))
    assert str(error.value).startswith(f"{version_dir}: its 1 train files hold")


def _relabel_first_prepared_example(version_dir: str, split: str) -> tuple[str, str]:
    """Gives the first example of a prepared split the next label; returns (path, file name)."""
    import tensorflow as tf

    path = os.path.join(version_dir, f"imagenet2012-{split}.tfrecord-00000-of-00001")
    examples = [tf.train.Example.FromString(r) for r in tf.compat.v1.io.tf_record_iterator(path)]
    label = examples[0].features.feature["label"].int64_list
    # Another label of the same varint size: the file keeps the size its metadata records.
    label.value[0] += -1 if label.value[0] in (127, upstream.NUM_CLASSES - 1) else 1
    with tf.io.TFRecordWriter(path) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return path, examples[0].features.feature["file_name"].bytes_list.value[0].decode()


@pytest.mark.parametrize(
    "split, message",
    [("train", "clean label would be wrong"), ("validation", "official ILSVRC2012 ground truth")],
)
def test_prepared_example_whose_label_disagrees_with_its_name_is_an_error(
    forms, tmp_path, split, message
):
    version_dir = _prepared_copy(forms, tmp_path)
    path, name = _relabel_first_prepared_example(version_dir, split)
    with pytest.raises(ilsvrc.IlsvrcError, match=message) as error:
        _read_split(os.path.dirname(os.path.dirname(version_dir)), split)
    assert f"{path}: example {name!r}" in str(error.value)


@pytest.mark.parametrize("layout", ["val_flat", "kaggle"])
def test_non_utf8_file_name_in_a_folder_is_named(forms, tmp_path, layout):
    manual_dir = _folder_copy(forms, tmp_path, layout)
    root = os.path.join(manual_dir, ilsvrc.KAGGLE_ROOT) if layout == "kaggle" else manual_dir
    folder = os.path.join(root, "train", sorted(os.listdir(os.path.join(root, "train")))[0])
    image = sorted(os.listdir(folder))[0]
    os.rename(
        os.path.join(folder, image).encode(),
        os.path.join(folder, image).encode().replace(b".JPEG", b"\xe9.JPEG"),
    )
    with pytest.raises(ilsvrc.IlsvrcError, match="is not UTF-8") as error:
        _read_split(manual_dir, "train")
    message = str(error.value)
    assert folder in message and "\\xe9.JPEG" in message
    message.encode("utf-8")  # printable as it is


@pytest.mark.parametrize("layout", ["val_flat", "kaggle"])
def test_image_in_another_synsets_folder_is_an_error_in_each_folder_layout(forms, tmp_path, layout):
    manual_dir = _folder_copy(forms, tmp_path, layout)
    root = os.path.join(manual_dir, ilsvrc.KAGGLE_ROOT) if layout == "kaggle" else manual_dir
    train = os.path.join(root, "train")
    first, second = sorted(os.listdir(train))[:2]
    image = sorted(os.listdir(os.path.join(train, first)))[0]
    os.rename(os.path.join(train, first, image), os.path.join(train, second, image))
    with pytest.raises(ilsvrc.IlsvrcError, match="clean label would be wrong") as error:
        _read_split(manual_dir, "train")
    assert os.path.join(train, second, image) in str(error.value)


def test_real_odd_image_names_agree_with_tfds_imagenet2012_but_keep_more_colour(tmp_path):
    # TFDS's imagenet2012 converts ILSVRC2012's CMYK and PNG images by name at 4:2:0; we
    # convert by content at 4:4:4: same examples and pictures, ours nearer the original.
    rng = np.random.default_rng(0)
    odd = {
        "n01739381": ("n01739381_1309.JPEG", fake_data.encode_image(rng, 40, "cmyk")),
        "n02105855": ("n02105855_2933.JPEG", fake_data.encode_image(rng, 40, "png")),
    }
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    with tarfile.open(manual_dir / upstream.TRAIN_TAR, "w") as outer:
        for synset, (name, image) in odd.items():
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as inner_tar:
                _add(inner_tar, name, image)
                _add(inner_tar, f"{synset}_1.JPEG", fake_data.encode_image(rng, 40))
            _add(outer, f"{synset}.tar", inner.getvalue())
    with tarfile.open(manual_dir / upstream.VAL_TAR, "w") as val:
        _add(val, "ILSVRC2012_val_00000001.JPEG", fake_data.encode_image(rng, 40))
    sample = fake_data.FakeIlsvrc(
        str(manual_dir / upstream.TRAIN_TAR), str(manual_dir / upstream.VAL_TAR), [], [], [], {}
    )
    fake_data.prepare_imagenet2012(sample, tmp_path / "prepared")
    records, fixers = {}, {}
    for form, form_dir in (("tars", manual_dir), ("prepared", tmp_path / "prepared")):
        fixers[form] = image_fixes.ImageFixer()
        shards = ilsvrc.detect_layout(form_dir).parts("train")
        records[form] = {r.file_name: r for s in shards for r in s.read(fixers[form])}
    assert records["tars"].keys() == records["prepared"].keys()
    originals = {name: image for name, image in odd.values()}
    for name, tars_record in records["tars"].items():
        prepared_record = records["prepared"][name]
        assert tars_record.synset == prepared_record.synset
        if name not in originals:
            assert tars_record.image == prepared_record.image
            continue
        original = _pixels(originals[name])
        ours = np.abs(_pixels(tars_record.image) - original)
        tfds_4_2_0 = np.abs(_pixels(prepared_record.image) - original)
        assert ours.max() <= 6 and ours.mean() < tfds_4_2_0.mean()
    assert fixers["tars"].counts == {"cmyk": 1, "png": 1}
    assert not fixers["prepared"].counts  # TFDS converted them already


def _pixels(image: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image)).convert("RGB"), np.int64)


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))
