"""Extracted folders and the Kaggle copy: sorted validation runs, and broken folders named."""

from __future__ import annotations

import os

import ilsvrc_layouts
import pytest

from imagenet_pi import ilsvrc


def test_validation_parts_are_sorted_runs_of_files(layouts):
    parts = ilsvrc.detect_layout(layouts["val_synsets"]).parts("validation")
    names = [os.path.basename(path) for part in parts for path, _ in part.files]
    assert names == sorted(names) == [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 7)]


def test_image_in_the_wrong_train_folder_is_an_error(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    train = os.path.join(manual_dir, "train")
    first, second = sorted(os.listdir(train))[:2]
    image = sorted(os.listdir(os.path.join(train, first)))[0]
    os.rename(os.path.join(train, first, image), os.path.join(train, second, image))
    with pytest.raises(ilsvrc.IlsvrcError, match=f"of synset {first} is in the folder of {second}"):
        ilsvrc_layouts.read_split(manual_dir, "train")


def test_validation_synset_folder_disagreeing_with_ground_truth_is_an_error(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path, "val_synsets")
    val = os.path.join(manual_dir, "val")
    folder = sorted(os.listdir(val))[0]
    image = sorted(os.listdir(os.path.join(val, folder)))[0]
    wrong = "n01440764" if folder != "n01440764" else "n01443537"
    os.makedirs(os.path.join(val, wrong), exist_ok=True)
    os.rename(os.path.join(val, folder, image), os.path.join(val, wrong, image))
    with pytest.raises(ilsvrc.IlsvrcError, match="official ILSVRC2012 ground truth") as error:
        ilsvrc_layouts.read_split(manual_dir, "validation")
    assert os.path.join(val, wrong, image) in str(error.value)


def test_unextracted_synset_tars_in_train_folder_say_what_to_do(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    open(os.path.join(manual_dir, "train", "n01440764.tar"), "wb").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="per-synset tars are not extracted"):
        ilsvrc_layouts.read_split(manual_dir, "train")


def test_folder_not_named_after_a_synset_is_an_error(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    os.makedirs(os.path.join(manual_dir, "train", "cats"))
    with pytest.raises(ilsvrc.IlsvrcError, match="train/cats is not a synset folder"):
        ilsvrc_layouts.read_split(manual_dir, "train")


def test_unknown_file_in_val_folder_is_an_error(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path, "kaggle")
    val = os.path.join(manual_dir, "ILSVRC", "Data", "CLS-LOC", "val")
    open(os.path.join(val, "LOC_val_solution.csv"), "w").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="LOC_val_solution.csv.*not an ILSVRC2012 val"):
        ilsvrc_layouts.read_split(manual_dir, "validation")


def test_hidden_files_are_ignored(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    open(os.path.join(manual_dir, "train", ".DS_Store"), "w").close()
    open(os.path.join(manual_dir, "val", "._ILSVRC2012_val_00000001.JPEG"), "w").close()
    assert (
        len(ilsvrc_layouts.read_split(manual_dir, "validation"))
        == ilsvrc_layouts.SAMPLE["num_validation"]
    )


def test_empty_image_file_is_an_error_naming_it(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    path = os.path.join(manual_dir, "val", "ILSVRC2012_val_00000003.JPEG")
    open(path, "wb").close()
    with pytest.raises(ilsvrc.IlsvrcError, match="is an empty file") as error:
        ilsvrc_layouts.read_split(manual_dir, "validation")
    assert path in str(error.value)


def test_garbage_image_file_is_an_error_naming_it(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    train = os.path.join(manual_dir, "train")
    synset = sorted(os.listdir(train))[-1]
    path = os.path.join(train, synset, sorted(os.listdir(os.path.join(train, synset)))[0])
    with open(path, "wb") as f:
        f.write(b"<html>404 Not Found</html>")
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        ilsvrc_layouts.read_split(manual_dir, "train")
    assert path in str(error.value)


def test_unreadable_image_files_are_errors_naming_them(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    broken_link = os.path.join(manual_dir, "val", "ILSVRC2012_val_00000002.JPEG")
    os.remove(broken_link)
    os.symlink(os.path.join(tmp_path, "unmounted", "ILSVRC2012_val_00000002.JPEG"), broken_link)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read .FileNotFoundError") as error:
        ilsvrc_layouts.read_split(manual_dir, "validation")
    assert broken_link in str(error.value)
    synset_dir = os.path.join(manual_dir, "train", sorted(os.listdir(manual_dir + "/train"))[0])
    not_a_file = os.path.join(synset_dir, "n01440764_1.JPEG")
    os.mkdir(not_a_file)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read .IsADirectoryError") as error:
        ilsvrc_layouts.read_split(manual_dir, "train")
    assert not_a_file in str(error.value)


@pytest.mark.parametrize("layout", ["val_flat", "kaggle"])
def test_image_in_another_synsets_folder_is_an_error_in_each_folder_layout(
    layouts, tmp_path, layout
):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path, layout)
    root = os.path.join(manual_dir, ilsvrc.KAGGLE_ROOT) if layout == "kaggle" else manual_dir
    train = os.path.join(root, "train")
    first, second = sorted(os.listdir(train))[:2]
    image = sorted(os.listdir(os.path.join(train, first)))[0]
    os.rename(os.path.join(train, first, image), os.path.join(train, second, image))
    with pytest.raises(ilsvrc.IlsvrcError, match="clean label would be wrong") as error:
        ilsvrc_layouts.read_split(manual_dir, "train")
    assert os.path.join(train, second, image) in str(error.value)
