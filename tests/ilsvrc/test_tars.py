"""The two tars of image-net.org: required in place, images checked against their synset
tar and named by archive, member and image when they are not images."""

from __future__ import annotations

import os
import tarfile

import damaged_inputs
import in_process_builds
import pytest

from imagenet_pi import ilsvrc, upstream


def test_missing_train_tar_names_expected_path(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    os.remove(os.path.join(manual_dir, upstream.TRAIN_TAR))
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_train.tar.*image-net.org"):
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


def test_unreadable_synset_member_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    member = list(damaged_inputs.member_offsets(train_tar).values())[1]
    with open(train_tar, "r+b") as f:
        f.seek(member.offset)
        f.write(b"\x13" * 512)  # the inner tar's first header
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"{train_tar}: member {member.name!r}" in str(error.value)


def test_garbage_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = damaged_inputs.replace_train_image(manual_dir, b"\x00\x01 not a JPEG")
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        damaged_inputs.read_tars(manual_dir)
    message = str(error.value)
    assert os.path.join(manual_dir, upstream.TRAIN_TAR) in message
    assert f"member {synset_tar!r}, image {image!r}" in message


def test_garbage_validation_member_fails_the_build(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    second = damaged_inputs.member_offsets(val_tar)["ILSVRC2012_val_00000002.JPEG"]
    with open(val_tar, "r+b") as f:
        f.seek(second.offset)
        f.write(b"\x00" * second.size)
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert f"{val_tar}: member 'ILSVRC2012_val_00000002.JPEG'" in str(error.value)


def test_train_image_in_another_synsets_tar_is_an_error(fresh_sample):
    manual_dir, _ = fresh_sample
    moved = {}

    def move_first_image(inner):
        first, second = list(inner)[:2]
        moved.update(image=inner[second].pop(0)[0].name, into=first)
        inner[first].append((tarfile.TarInfo(moved["image"]), b"\xff\xd8 never read"))

    damaged_inputs.edit_train_tar(manual_dir, move_first_image)
    synset = moved["image"].split("_")[0]
    with pytest.raises(ilsvrc.IlsvrcError, match="clean label would be wrong") as error:
        damaged_inputs.read_tars(manual_dir)
    message = str(error.value)
    assert f"member {moved['into']!r}, image {moved['image']!r}" in message
    assert f"of synset {synset} is in the per-synset tar of {moved['into'][:-4]}" in message
