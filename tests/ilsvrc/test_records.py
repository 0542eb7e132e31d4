"""What every part yields: picklable parts, and names that are not UTF-8 refused in every layout."""

from __future__ import annotations

import os
import pickle

import damaged_inputs
import ilsvrc_layouts
import pytest

from imagenet_pi import ilsvrc, upstream


@pytest.mark.parametrize("form", ilsvrc_layouts.LAYOUTS)
def test_parts_survive_pickling_for_beam_workers(layouts, form):
    layout = ilsvrc.detect_layout(layouts[form])
    for split in upstream.SPLITS:
        parts = layout.parts(split)
        copies = pickle.loads(pickle.dumps(parts))
        assert [r.image for part in copies for r in part.read()] == [
            r.image for part in parts for r in part.read()
        ]


@pytest.mark.parametrize("layout", ["val_flat", "kaggle"])
def test_non_utf8_file_name_in_a_folder_is_named(layouts, tmp_path, layout):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path, layout)
    root = os.path.join(manual_dir, ilsvrc.KAGGLE_ROOT) if layout == "kaggle" else manual_dir
    folder = os.path.join(root, "train", sorted(os.listdir(os.path.join(root, "train")))[0])
    image = sorted(os.listdir(folder))[0]
    os.rename(
        os.path.join(folder, image).encode(),
        os.path.join(folder, image).encode().replace(b".JPEG", b"\xe9.JPEG"),
    )
    with pytest.raises(ilsvrc.IlsvrcError, match="is not UTF-8") as error:
        ilsvrc_layouts.read_split(manual_dir, "train")
    message = str(error.value)
    assert folder in message and "\\xe9.JPEG" in message
    message.encode("utf-8")  # printable as it is


def test_non_utf8_image_name_in_a_tar_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample

    def rename_first_image(inner):
        info, _ = inner[next(iter(inner))][0]
        info.name = info.name.replace(".JPEG", "\udce9.JPEG")  # the byte 0xE9, as tarfile reads it

    train_tar = damaged_inputs.edit_train_tar(manual_dir, rename_first_image)
    with pytest.raises(ilsvrc.IlsvrcError, match="is not UTF-8") as error:
        damaged_inputs.read_tars(manual_dir)
    message = str(error.value)
    assert train_tar in message and "\\xe9.JPEG" in message
    message.encode("utf-8")  # printable as it is
