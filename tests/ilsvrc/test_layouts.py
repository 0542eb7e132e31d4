"""Which layout of ILSVRC2012 a manual_dir holds: each found as itself, in priority order,
and every one builds the dataset the tars build."""

from __future__ import annotations

import logging
import os
import shutil

import ilsvrc_layouts
import in_process_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import fake_data, ilsvrc, upstream


@pytest.fixture(scope="module")
def built(layouts, tmp_path_factory) -> dict[str, tfds.core.DatasetBuilder]:
    data_root = tmp_path_factory.mktemp("built")
    return {
        form: in_process_builds.build(manual_dir, str(data_root / form))
        for form, manual_dir in layouts.items()
    }


def test_each_form_is_detected_as_itself(layouts):
    expected = {
        "tars": ilsvrc.TarLayout,
        "val_flat": ilsvrc.FolderLayout,
        "val_synsets": ilsvrc.FolderLayout,
        "kaggle": ilsvrc.FolderLayout,
        "prepared": ilsvrc.PreparedImagenet2012Layout,
    }
    for form, manual_dir in layouts.items():
        layout = ilsvrc.detect_layout(manual_dir)
        assert type(layout) is expected[form], form
    assert ilsvrc.detect_layout(layouts["kaggle"]).kind == "Kaggle layout"
    assert ilsvrc.detect_layout(layouts["val_flat"]).train_dir == os.path.join(
        layouts["val_flat"], "train"
    )


@pytest.mark.parametrize("form", [f for f in ilsvrc_layouts.LAYOUTS if f != "tars"])
def test_every_form_builds_the_dataset_the_tars_build(built, form):
    for split in upstream.SPLITS:
        expected, found = (
            in_process_builds.examples(built["tars"], split),
            in_process_builds.examples(built[form], split),
        )
        assert sorted(found) == sorted(expected)
        for name, example in found.items():
            assert example["image"] == expected[name]["image"], name
            assert example["clean_label"] == expected[name]["clean_label"], name
            for key in ("annotator_labels", "annotator_confidences", "annotator_features"):
                np.testing.assert_array_equal(example[key], expected[name][key])
        assert built[form].info.splits[split].num_examples == len(expected)


def test_metadata_names_the_form_read(built, layouts):
    assert "TFDS-prepared imagenet2012" in built["prepared"].info.metadata["images_source"]
    assert layouts["kaggle"] in built["kaggle"].info.metadata["images_source"]


def test_prepared_form_takes_priority_over_tars_and_says_why(layouts, tmp_path, caplog):
    manual_dir = tmp_path / "both"
    shutil.copytree(layouts["tars"], manual_dir)
    os.symlink(os.path.join(layouts["prepared"], "imagenet2012"), manual_dir / "imagenet2012")
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        layout = ilsvrc.detect_layout(manual_dir)
    assert isinstance(layout, ilsvrc.PreparedImagenet2012Layout)
    assert "also there, ignored: ILSVRC2012 tars" in caplog.text
    assert "priority: TFDS-prepared imagenet2012, ILSVRC2012 tars" in caplog.text


def test_tars_take_priority_over_folders_and_incomplete_forms_are_named(layouts, tmp_path, caplog):
    manual_dir = tmp_path / "mixed"
    shutil.copytree(layouts["tars"], manual_dir)
    shutil.copytree(os.path.join(layouts["val_flat"], "train"), manual_dir / "train")
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        layout = ilsvrc.detect_layout(manual_dir)
    assert isinstance(layout, ilsvrc.TarLayout)
    assert "ignored: extracted folders (incomplete)" in caplog.text


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


def test_missing_val_folder_is_reported_with_what_was_found(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    shutil.rmtree(os.path.join(manual_dir, "val"))
    with pytest.raises(ilsvrc.IlsvrcError, match=r"train/ \(found\) and .*val/ \(missing\)"):
        ilsvrc.detect_layout(manual_dir)


def test_verification_asked_for_a_form_without_checksums_warns(tmp_path, monkeypatch, caplog):
    sample = fake_data.write_ilsvrc_tars(tmp_path / "tars", **fake_data.SMALL_SAMPLE)
    manual_dir = fake_data.extract_to_folders(sample, tmp_path / "folders")
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        layout = ilsvrc.detect_layout(manual_dir, verify_archives=True)
        assert isinstance(layout, ilsvrc.FolderLayout)
    assert "has no official checksums: nothing was verified" in caplog.text
