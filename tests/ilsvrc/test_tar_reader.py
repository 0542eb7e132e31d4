"""Damaged tars are named precisely: cut short, corrupt or zeroed headers, links, empty
members; a tar padded to a large record is read whole."""

from __future__ import annotations

import os
import tarfile

import damaged_inputs
import in_process_builds
import pytest

from imagenet_pi import fake_data, ilsvrc, upstream


def test_truncated_train_tar_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    last = list(damaged_inputs.member_offsets(train_tar).values())[-1]
    with open(train_tar, "r+b") as f:
        f.truncate(last.offset + last.size // 2)
    with pytest.raises(ilsvrc.IlsvrcError, match="truncated") as error:
        damaged_inputs.read_tars(manual_dir)
    assert train_tar in str(error.value)


def test_corrupt_member_header_names_the_archive(fresh_sample):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    third = damaged_inputs.member_offsets(val_tar)["ILSVRC2012_val_00000003.JPEG"]
    with open(val_tar, "r+b") as f:
        f.seek(third.offset - 512)  # its header
        f.write(b"\x13" * 512)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read.*corrupt") as error:
        damaged_inputs.read_tars(manual_dir)
    assert val_tar in str(error.value)


def test_zero_filled_tail_of_a_preallocated_download_is_an_error(fresh_sample):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    third = damaged_inputs.member_offsets(val_tar)["ILSVRC2012_val_00000003.JPEG"]
    # A download into a file preallocated to the full size: zeros from where it stopped.
    # (The real tar is GBs; past 1 MiB zeros are more than any tar's padding.)
    size = os.path.getsize(val_tar) + (2 << 20)
    with open(val_tar, "r+b") as f:
        f.seek(third.offset - 512)
        f.write(bytes(size - third.offset + 512))
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_val.tar cannot be read"):
        damaged_inputs.read_tars(manual_dir)


def test_empty_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = damaged_inputs.replace_train_image(manual_dir, b"")
    with pytest.raises(ilsvrc.IlsvrcError, match="is an empty file") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"member {synset_tar!r}, image {image!r}" in str(error.value)


@pytest.mark.parametrize("link_type", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_linked_train_image_names_the_link(fresh_sample, link_type):
    manual_dir, _ = fresh_sample
    linked = {}

    def replace_by_link(inner):
        images = inner[next(iter(inner))]
        info = tarfile.TarInfo(images[1][0].name)
        info.type, info.linkname = link_type, images[0][0].name
        images[1] = (info, b"")
        linked.update(name=info.name, target=info.linkname)

    damaged_inputs.edit_train_tar(manual_dir, replace_by_link)
    kind = "symbolic" if link_type == tarfile.SYMTYPE else "hard"
    with pytest.raises(ilsvrc.IlsvrcError, match=f"is a {kind} link to") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"member {linked['name']!r} is a {kind} link to {linked['target']!r}" in str(error.value)


def test_linked_validation_image_names_the_link(fresh_sample):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    with open(val_tar, "rb") as f:
        members = fake_data.tar_members(f.read())
    info = tarfile.TarInfo(members[2][0].name)
    info.type, info.linkname = tarfile.SYMTYPE, "../elsewhere/" + info.name
    members[2] = (info, b"")
    with open(val_tar, "wb") as f:
        f.write(fake_data.tar_bytes(members))
    with pytest.raises(ilsvrc.IlsvrcError, match="is a symbolic link to") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"{val_tar}: member {info.name!r}" in str(error.value)


@pytest.mark.parametrize("tar_name", [upstream.TRAIN_TAR, upstream.VAL_TAR])
def test_tar_cut_at_a_member_boundary_says_the_archive_ends_early(fresh_sample, tar_name):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, tar_name)
    members = list(damaged_inputs.member_offsets(path).values())
    second = members[1]
    with open(path, "r+b") as f:
        f.truncate(members[2].offset - tarfile.BLOCKSIZE)  # right before the third header
    with pytest.raises(ilsvrc.IlsvrcError, match="without an end-of-archive marker") as error:
        damaged_inputs.read_tars(manual_dir)
    message = str(error.value)
    assert f"{path} cannot be read past byte" in message
    assert f"after the member {second.name!r}" in message


def test_inner_tar_cut_at_a_member_boundary_names_the_synset_tar(fresh_sample):
    manual_dir, _ = fresh_sample
    cut = {}

    def cut_first_synset(inner):
        cut["name"] = next(iter(inner))
        inner[cut["name"]] = inner[cut["name"]][:1]

    train_tar = damaged_inputs.edit_train_tar(manual_dir, cut_first_synset)
    # The inner tar rewritten without its end-of-archive marker: only the first image.
    with open(train_tar, "rb") as f:
        outer = fake_data.tar_members(f.read())
    info, data = outer[0]
    (image_info, image), *_ = fake_data.tar_members(data)
    header = image_info.tobuf(tarfile.GNU_FORMAT)
    padding = -len(image) % tarfile.BLOCKSIZE
    outer[0] = (info, header + image + bytes(padding))
    with open(train_tar, "wb") as f:
        f.write(fake_data.tar_bytes(outer))
    with pytest.raises(ilsvrc.IlsvrcError, match="without an end-of-archive marker") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"{train_tar}: member {cut['name']!r} cannot be read past" in str(error.value)


@pytest.mark.parametrize("damage", [b"\x00", b"\x13"])
def test_damaged_or_zeroed_member_header_says_later_members_are_lost(fresh_sample, damage):
    # A zeroed header reads as the end-of-archive marker; the members after it are not zeros.
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    members = list(damaged_inputs.member_offsets(val_tar).values())
    with open(val_tar, "r+b") as f:
        f.seek(members[2].offset - tarfile.BLOCKSIZE)
        f.write(damage * tarfile.BLOCKSIZE)
    with pytest.raises(ilsvrc.IlsvrcError, match="later members are lost") as error:
        damaged_inputs.read_tars(manual_dir)
    assert f"after the member {members[1].name!r}" in str(error.value)


def test_tar_padded_to_a_large_record_is_read_whole(fresh_sample):
    # `tar -b 128` pads to 64 kB records: zeros after the end marker are not damage.
    manual_dir, sample = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    with open(val_tar, "ab") as f:
        f.write(bytes(-os.path.getsize(val_tar) % (64 << 10)))
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    names = [record.file_name for record in ilsvrc.iter_split(layout, "validation")]
    assert names == sample.validation_file_names


def test_truncated_tar_names_the_archive(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    size = os.path.getsize(val_tar)
    with open(val_tar, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_val.tar") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert "download it again" in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))
