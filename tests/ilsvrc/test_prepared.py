"""A TFDS-prepared imagenet2012: one part per tfrecord file, the newest complete version read,
half-copied or altered versions named; its odd images are TFDS's 4:2:0 ones."""

from __future__ import annotations

import io
import logging
import os
import shutil
import tarfile

import ilsvrc_layouts
import in_process_builds
import numpy as np
import pytest
from PIL import Image

from imagenet_pi import fake_data, ilsvrc, upstream
from imagenet_pi.ilsvrc import image_fixes


def test_prepared_form_reads_one_part_per_tfrecord_file(layouts):
    layout = ilsvrc.detect_layout(layouts["prepared"])
    for split, prepared_split in (("train", "train"), ("validation", "validation")):
        parts = layout.parts(split)
        assert [os.path.basename(part.path) for part in parts] == [
            f"imagenet2012-{prepared_split}.tfrecord-00000-of-00001"
        ]


def test_prepared_version_folder_linked_directly(layouts, tmp_path):
    version_dir = ilsvrc.find_prepared_imagenet2012(layouts["prepared"])
    os.symlink(version_dir, tmp_path / "imagenet2012")
    layout = ilsvrc.detect_layout(tmp_path)
    assert layout.version_dir == str(tmp_path / "imagenet2012")


def test_newest_prepared_version_is_used(layouts, tmp_path):
    root = tmp_path / "imagenet2012"
    root.mkdir()
    version_dir = ilsvrc.find_prepared_imagenet2012(layouts["prepared"])
    for version in ("5.0.0", "5.1.0", "10.0.0"):
        os.symlink(version_dir, root / version)
    (root / "5.1.0.incomplete").mkdir()  # not a version
    assert ilsvrc.find_prepared_imagenet2012(str(tmp_path)) == str(root / "10.0.0")


def _prepared_copy(layouts, tmp_path) -> str:
    manual_dir = str(tmp_path / "copy")
    shutil.copytree(layouts["prepared"], manual_dir)
    return ilsvrc.find_prepared_imagenet2012(manual_dir)


def test_prepared_dataset_of_another_name_is_an_error(layouts, tmp_path):
    version_dir = _prepared_copy(layouts, tmp_path)
    info_path = os.path.join(version_dir, "dataset_info.json")
    with open(info_path) as f:
        info = f.read()
    with open(info_path, "w") as f:
        f.write(info.replace('"name": "imagenet2012"', '"name": "imagenette"'))
    with pytest.raises(ilsvrc.IlsvrcError, match="holds the dataset 'imagenette'"):
        ilsvrc.detect_layout(os.path.dirname(os.path.dirname(version_dir)))


def test_prepared_dataset_missing_a_file_is_an_error(layouts, tmp_path):
    version_dir = _prepared_copy(layouts, tmp_path)
    missing = os.path.join(version_dir, "imagenet2012-train.tfrecord-00000-of-00001")
    os.remove(missing)
    with pytest.raises(ilsvrc.IlsvrcError, match="1 of the 1 train files are missing") as error:
        ilsvrc.detect_layout(os.path.dirname(os.path.dirname(version_dir)))
    assert missing in str(error.value)


def test_corrupt_tfrecord_file_is_an_error_naming_it(layouts, tmp_path):
    version_dir = _prepared_copy(layouts, tmp_path)
    path = os.path.join(version_dir, "imagenet2012-validation.tfrecord-00000-of-00001")
    with open(path, "r+b") as f:  # damaged in place: the size is right, a checksum is not
        f.seek(os.path.getsize(path) - 100)
        f.write(b"\0" * 50)
    with pytest.raises(ilsvrc.IlsvrcError, match="truncated or corrupt") as error:
        ilsvrc_layouts.read_split(os.path.dirname(os.path.dirname(version_dir)), "validation")
    assert path in str(error.value)


def _two_versions(layouts, tmp_path, damage_newer) -> tuple[str, str, str]:
    """A manual_dir with a complete 5.1.0 and a damaged copy as 9.9.9: (dir, 5.1.0, 9.9.9)."""
    manual_dir = str(tmp_path / "two_versions")
    shutil.copytree(layouts["prepared"], manual_dir)
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
def test_half_copied_newer_version_is_skipped_for_the_complete_one(
    layouts, tmp_path, caplog, damage
):
    damage_newer, lacks = _DAMAGES[damage]
    manual_dir, complete, newer = _two_versions(layouts, tmp_path, damage_newer)
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        layout = ilsvrc.detect_layout(manual_dir)
    assert layout.version_dir == complete
    assert f"Skipped {newer}: {newer}:" in caplog.text
    assert lacks in caplog.text
    assert f"Reading {complete}, the newest complete imagenet2012 there" in caplog.text


def test_build_reads_the_complete_version_beside_a_half_copied_newer_one(layouts, tmp_path):
    manual_dir, complete, _ = _two_versions(layouts, tmp_path, _remove_train_files)
    builder = in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert builder.info.metadata["images_source"] == f"TFDS-prepared imagenet2012 {complete}"
    assert (
        builder.info.splits["train"].num_examples
        == ilsvrc_layouts.SAMPLE["num_synsets"] * ilsvrc_layouts.SAMPLE["images_per_synset"]
    )


def test_no_complete_version_names_what_each_lacks(layouts, tmp_path):
    manual_dir, complete, newer = _two_versions(layouts, tmp_path, _remove_train_files)
    _cut_a_train_file(complete)
    with pytest.raises(ilsvrc.IlsvrcError) as error:
        ilsvrc.detect_layout(manual_dir)
    message = str(error.value)
    assert message.startswith(f"No complete imagenet2012 in {os.path.dirname(complete)}")
    assert f"{newer}: 1 of the 1 train files are missing" in message
    assert f"{complete}: its 1 train files hold" in message
    assert "Copy one version folder whole, or prepare imagenet2012 again" in message


def test_a_single_version_cut_short_is_refused_before_reading(layouts, tmp_path):
    version_dir = _prepared_copy(layouts, tmp_path)
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
    layouts, tmp_path, split, message
):
    version_dir = _prepared_copy(layouts, tmp_path)
    path, name = _relabel_first_prepared_example(version_dir, split)
    with pytest.raises(ilsvrc.IlsvrcError, match=message) as error:
        ilsvrc_layouts.read_split(os.path.dirname(os.path.dirname(version_dir)), split)
    assert f"{path}: example {name!r}" in str(error.value)


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
        parts = ilsvrc.detect_layout(form_dir).parts("train")
        records[form] = {r.file_name: r for part in parts for r in part.read(fixers[form])}
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
