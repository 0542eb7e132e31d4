"""The tars are checked before the long work: sizes, opt-in sha256, and damage named precisely."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tarfile

import damaged_inputs
import numpy as np
import pytest
import tensorflow_datasets as tfds
import tfds_command

import imagenet_pi
from imagenet_pi import cli, fake_data, ilsvrc, upstream
from imagenet_pi.ilsvrc import tar_reader, verification


def _build(manual_dir: str, data_dir: str) -> tfds.core.DatasetBuilder:
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def _tar_paths(manual_dir: str) -> dict[str, str]:
    return {name: os.path.join(manual_dir, name) for name in (upstream.TRAIN_TAR, upstream.VAL_TAR)}


def _actual_sums(manual_dir: str) -> dict[str, str]:
    return {
        name: hashlib.sha256(open(path, "rb").read()).hexdigest()
        for name, path in _tar_paths(manual_dir).items()
    }


# Sizes.


def test_size_mismatch_warns_naming_both_sizes_before_the_build(fresh_sample, tmp_path, caplog):
    manual_dir, _ = fresh_sample
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        _build(manual_dir, str(tmp_path / "data"))  # a subset is legitimate: it builds
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (train_warning,) = [w for w in warnings if w.startswith(train_tar)]
    assert f"has {os.path.getsize(train_tar):,} bytes" in train_warning
    assert "the official ILSVRC2012_img_train.tar has 147,897,477,120" in train_warning
    assert "imagenet-pi verify" in train_warning


def test_official_sizes_give_no_warning(small_sample, monkeypatch, caplog):
    manual_dir, _ = small_sample
    paths = _tar_paths(manual_dir)
    for name, path in paths.items():
        monkeypatch.setitem(upstream.ILSVRC_TAR_SIZES, name, os.path.getsize(path))
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        assert verification.size_warnings(paths) == []
    assert not caplog.records


# sha256.


def test_sha256_mismatch_names_file_and_both_sums(small_sample):
    manual_dir, _ = small_sample
    paths = _tar_paths(manual_dir)
    with pytest.raises(verification.ChecksumError) as error:
        verification.verify(paths)
    message = str(error.value)
    for name, path in paths.items():
        assert f"{path} has sha256 {_actual_sums(manual_dir)[name]}" in message
        assert f"expected {upstream.ILSVRC_TAR_SHA256[name]}" in message
    assert "download it again" in message


def test_sha256_match_passes(small_sample):
    manual_dir, _ = small_sample
    verdicts = verification.verify(
        _tar_paths(manual_dir), progress=True, expected=_actual_sums(manual_dir)
    )
    assert [v.ok for v in verdicts] == [True, True]


_YES = ["1", "true", "yes", "on", "TRUE", "Yes", "On", " on ", "ON\n"]
_NO = ["", "0", "false", "no", "off", "FALSE", "No", "Off", " 0 "]


@pytest.mark.parametrize(
    ("value", "requested"), [(v, True) for v in _YES] + [(v, False) for v in _NO]
)
def test_verification_is_opt_in_by_the_usual_words_in_any_case(value, requested):
    assert verification.verify_requested({verification.VERIFY_ENV_VAR: value}) is requested
    assert verification.verify_requested({}) is False


@pytest.mark.parametrize("value", ["maybe", "2", "y", "n", "enabled", "1.0", "-1", "true false"])
def test_other_values_of_the_variable_are_refused_naming_it_and_the_value(value):
    with pytest.raises(verification.VerifySettingError) as error:
        verification.verify_requested({verification.VERIFY_ENV_VAR: value})
    assert str(error.value).startswith(f"IMAGENET_PI_VERIFY_ARCHIVES={value!r}: expected 1, true")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["on", "TRUE"])
def test_tfds_build_with_the_variable_on_checks_the_sums(
    fresh_sample, tmp_path, monkeypatch, value
):
    manual_dir, _ = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, value)
    data_dir = str(tmp_path / "data")
    result = tfds_command.tfds_build("imagenet_pi/high_noise", manual_dir, data_dir)
    assert result.returncode != 0
    assert "ILSVRC2012_img_train.tar has sha256" in result.stderr, result.stderr[-3000:]
    assert not tfds.builder("imagenet_pi/high_noise", data_dir=data_dir).is_prepared()


def test_a_bad_value_stops_the_build_before_any_input_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "maybe")
    # No manual_dir at all: the variable is read before TFDS would complain about it.
    with pytest.raises(verification.VerifySettingError, match="IMAGENET_PI_VERIFY_ARCHIVES="):
        _build(str(tmp_path / "absent"), str(tmp_path / "data"))
    assert not os.path.exists(tmp_path / "data" / "imagenet_pi" / "high_noise" / "3.0.0")


def _custom_config(manual_dir: str, **changes) -> imagenet_pi.ImagenetPiConfig:
    # TFDS refuses a changed copy of a released config under its name: a custom config it is.
    folder = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    return dataclasses.replace(imagenet_pi.custom_config(folder, name="mine", beta=0.1), **changes)


def _build_config(config, manual_dir: str, data_dir: str) -> tfds.core.DatasetBuilder:
    builder = tfds.builder("imagenet_pi", config=config, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def test_config_verify_archives_true_checks_the_sums_without_the_variable(
    fresh_sample, tmp_path, monkeypatch
):
    manual_dir, _ = fresh_sample
    monkeypatch.delenv(verification.VERIFY_ENV_VAR, raising=False)
    config = _custom_config(manual_dir, verify_archives=True)
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_train.tar has sha256"):
        _build_config(config, manual_dir, str(tmp_path / "data"))


def test_config_verify_archives_false_is_not_overridden_by_the_variable(
    fresh_sample, tmp_path, monkeypatch
):
    manual_dir, sample = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "1")
    config = _custom_config(manual_dir, verify_archives=False)
    builder = _build_config(config, manual_dir, str(tmp_path))
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


@pytest.mark.parametrize("value", ["yes", 1, "false"])
def test_config_verify_archives_must_be_a_bool_or_none(value):
    with pytest.raises(verification.VerifySettingError, match="verify_archives: expected True"):
        imagenet_pi.ImagenetPiConfig(name="mine", beta=0.3, verify_archives=value)


def test_build_with_verification_stops_on_a_wrong_sum_before_generating(
    fresh_sample, tmp_path, monkeypatch
):
    manual_dir, _ = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "1")
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_train.tar has sha256"):
        _build(manual_dir, str(tmp_path / "data"))
    assert not os.path.exists(tmp_path / "data" / "imagenet_pi" / "high_noise" / "3.0.0")


def test_build_with_verification_passes_when_sums_match(fresh_sample, tmp_path, monkeypatch):
    manual_dir, sample = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "1")
    # The official sums of 150 GB cannot be met here: take the sample's as the reference.
    for name, digest in _actual_sums(manual_dir).items():
        monkeypatch.setitem(upstream.ILSVRC_TAR_SHA256, name, digest)
    builder = _build(manual_dir, str(tmp_path / "data"))
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


# The `imagenet-pi verify` command.


def test_verify_command_fails_on_wrong_sums(small_sample, capsys):
    manual_dir, _ = small_sample
    assert cli.main(["verify", "--manual_dir", manual_dir]) == 1
    captured = capsys.readouterr()
    assert "ILSVRC2012_img_val.tar has sha256" in captured.err
    assert "Size: " in captured.out  # the synthetic tars are not the official size


def test_verify_command_reports_ok(small_sample, monkeypatch, capsys):
    manual_dir, _ = small_sample
    for name, digest in _actual_sums(manual_dir).items():
        monkeypatch.setitem(upstream.ILSVRC_TAR_SHA256, name, digest)
    assert cli.main(["verify", "--manual_dir", manual_dir]) == 0
    out = capsys.readouterr().out
    assert f"{os.path.join(manual_dir, upstream.TRAIN_TAR)}: OK" in out
    assert f"{os.path.join(manual_dir, upstream.VAL_TAR)}: OK" in out


def test_verify_command_without_tars_says_what_it_checks(tmp_path, capsys):
    assert cli.main(["verify", "--manual_dir", str(tmp_path)]) == 1
    assert "only form with official checksums" in capsys.readouterr().err


# Damaged tars: errors name the archive and the member.


def _read_all(manual_dir: str) -> None:
    source = ilsvrc.TarLayout.in_dir(manual_dir)
    for split in upstream.SPLITS:
        for _ in ilsvrc.iter_split(source, split):
            pass


def _member_offsets(archive: str) -> dict[str, tar_reader.TarMember]:
    return {member.name: member for member in tar_reader.index_tar(archive)}


def test_truncated_train_tar_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    last = list(_member_offsets(train_tar).values())[-1]
    with open(train_tar, "r+b") as f:
        f.truncate(last.offset + last.size // 2)
    with pytest.raises(ilsvrc.IlsvrcError, match="truncated") as error:
        _read_all(manual_dir)
    assert train_tar in str(error.value)


def test_corrupt_member_header_names_the_archive(fresh_sample):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    third = _member_offsets(val_tar)["ILSVRC2012_val_00000003.JPEG"]
    with open(val_tar, "r+b") as f:
        f.seek(third.offset - 512)  # its header
        f.write(b"\x13" * 512)
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read.*corrupt") as error:
        _read_all(manual_dir)
    assert val_tar in str(error.value)


def test_zero_filled_tail_of_a_preallocated_download_is_an_error(fresh_sample):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    third = _member_offsets(val_tar)["ILSVRC2012_val_00000003.JPEG"]
    # A download into a file preallocated to the full size: zeros from where it stopped.
    # (The real tar is GBs; past 1 MiB zeros are more than any tar's padding.)
    size = os.path.getsize(val_tar) + (2 << 20)
    with open(val_tar, "r+b") as f:
        f.seek(third.offset - 512)
        f.write(bytes(size - third.offset + 512))
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_val.tar cannot be read"):
        _read_all(manual_dir)


def test_unreadable_synset_member_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    member = list(_member_offsets(train_tar).values())[1]
    with open(train_tar, "r+b") as f:
        f.seek(member.offset)
        f.write(b"\x13" * 512)  # the inner tar's first header
    with pytest.raises(ilsvrc.IlsvrcError, match="cannot be read") as error:
        _read_all(manual_dir)
    assert f"{train_tar}: member {member.name!r}" in str(error.value)


def test_empty_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = damaged_inputs.replace_train_image(manual_dir, b"")
    with pytest.raises(ilsvrc.IlsvrcError, match="is an empty file") as error:
        _read_all(manual_dir)
    assert f"member {synset_tar!r}, image {image!r}" in str(error.value)


def test_garbage_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = damaged_inputs.replace_train_image(manual_dir, b"\x00\x01 not a JPEG")
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        _read_all(manual_dir)
    message = str(error.value)
    assert os.path.join(manual_dir, upstream.TRAIN_TAR) in message
    assert f"member {synset_tar!r}, image {image!r}" in message


def test_garbage_validation_member_fails_the_build(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    second = _member_offsets(val_tar)["ILSVRC2012_val_00000002.JPEG"]
    with open(val_tar, "r+b") as f:
        f.seek(second.offset)
        f.write(b"\x00" * second.size)
    with pytest.raises(ilsvrc.IlsvrcError, match="not a readable image") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert f"{val_tar}: member 'ILSVRC2012_val_00000002.JPEG'" in str(error.value)


def test_verification_asked_for_a_form_without_checksums_warns(tmp_path, monkeypatch, caplog):
    sample = fake_data.write_ilsvrc_tars(tmp_path / "tars", **fake_data.SMALL_SAMPLE)
    manual_dir = fake_data.extract_to_folders(sample, tmp_path / "folders")
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        source = ilsvrc.detect_layout(manual_dir, verify_archives=True)
        assert isinstance(source, ilsvrc.FolderLayout)
    assert "has no official checksums: nothing was verified" in caplog.text


# Damage that tarfile and the image bytes would let through quietly.


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
        _read_all(manual_dir)
    message = str(error.value)
    assert f"member {moved['into']!r}, image {moved['image']!r}" in message
    assert f"of synset {synset} is in the per-synset tar of {moved['into'][:-4]}" in message


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
        _read_all(manual_dir)
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
        _read_all(manual_dir)
    assert f"{val_tar}: member {info.name!r}" in str(error.value)


@pytest.mark.parametrize("tar_name", [upstream.TRAIN_TAR, upstream.VAL_TAR])
def test_tar_cut_at_a_member_boundary_says_the_archive_ends_early(fresh_sample, tar_name):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, tar_name)
    members = list(_member_offsets(path).values())
    second = members[1]
    with open(path, "r+b") as f:
        f.truncate(members[2].offset - tarfile.BLOCKSIZE)  # right before the third header
    with pytest.raises(ilsvrc.IlsvrcError, match="without an end-of-archive marker") as error:
        _read_all(manual_dir)
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
        _read_all(manual_dir)
    assert f"{train_tar}: member {cut['name']!r} cannot be read past" in str(error.value)


@pytest.mark.parametrize("damage", [b"\x00", b"\x13"])
def test_damaged_or_zeroed_member_header_says_later_members_are_lost(fresh_sample, damage):
    # A zeroed header reads as the end-of-archive marker; the members after it are not zeros.
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    members = list(_member_offsets(val_tar).values())
    with open(val_tar, "r+b") as f:
        f.seek(members[2].offset - tarfile.BLOCKSIZE)
        f.write(damage * tarfile.BLOCKSIZE)
    with pytest.raises(ilsvrc.IlsvrcError, match="later members are lost") as error:
        _read_all(manual_dir)
    assert f"after the member {members[1].name!r}" in str(error.value)


def test_non_utf8_image_name_in_a_tar_names_archive_and_member(fresh_sample):
    manual_dir, _ = fresh_sample

    def rename_first_image(inner):
        info, _ = inner[next(iter(inner))][0]
        info.name = info.name.replace(".JPEG", "\udce9.JPEG")  # the byte 0xE9, as tarfile reads it

    train_tar = damaged_inputs.edit_train_tar(manual_dir, rename_first_image)
    with pytest.raises(ilsvrc.IlsvrcError, match="is not UTF-8") as error:
        _read_all(manual_dir)
    message = str(error.value)
    assert train_tar in message and "\\xe9.JPEG" in message
    message.encode("utf-8")  # printable as it is


# JPEGs cut short.


def _first_image(manual_dir: str) -> bytes:
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with open(train_tar, "rb") as f:
        outer = fake_data.tar_members(f.read())
    return fake_data.tar_members(outer[0][1])[0][1]


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_jpeg_cut_short_fails_the_build_naming_the_member(fresh_sample, tmp_path, keep):
    manual_dir, _ = fresh_sample
    image = _first_image(manual_dir)
    cut = image[: int(len(image) * keep)]
    synset_tar, name = damaged_inputs.replace_train_image(manual_dir, cut)
    data_dir = str(tmp_path / "data")
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short") as error:
        _build(manual_dir, data_dir)
    assert f"member {synset_tar!r}, image {name!r}" in str(error.value)
    assert not tfds.builder("imagenet_pi/high_noise", data_dir=data_dir).is_prepared()


def test_jpeg_cut_short_and_zero_padded_is_an_error(fresh_sample):
    manual_dir, _ = fresh_sample
    image = _first_image(manual_dir)
    padded = image[: len(image) // 2] + bytes(len(image) // 2)
    damaged_inputs.replace_train_image(manual_dir, padded)
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short"):
        _read_all(manual_dir)


def test_bytes_after_the_end_of_image_marker_are_kept_as_they_are(fresh_sample):
    manual_dir, _ = fresh_sample
    padded = _first_image(manual_dir) + bytes(300) + b"trailing data"
    _, name = damaged_inputs.replace_train_image(manual_dir, padded)
    source = ilsvrc.TarLayout.in_dir(manual_dir)
    images = {record.file_name: record.image for record in ilsvrc.iter_split(source, "train")}
    assert images[name] == padded


def _with_thumbnail(image: bytes, thumbnail: bytes) -> tuple[bytes, int]:
    """`image` with an EXIF-like APP1 segment holding `thumbnail` (its own scan and EOI).

    Returns the new bytes and where the APP1 segment ends.
    """
    payload = b"Exif\x00\x00" + thumbnail
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return image[:2] + app1 + image[2:], 2 + len(app1)


@pytest.mark.parametrize("cut", ["after the thumbnail", "in the scan"])
def test_jpeg_cut_short_is_found_despite_the_end_marker_of_an_embedded_thumbnail(fresh_sample, cut):
    # Camera JPEGs carry a thumbnail with its own end-of-image marker: only one after the
    # image's own scan shows that the image is whole.
    manual_dir, _ = fresh_sample
    image = _first_image(manual_dir)
    thumbnail = fake_data.encode_image(np.random.default_rng(1), 16)
    whole, app1_end = _with_thumbnail(image, thumbnail)
    stop = app1_end if cut == "after the thumbnail" else app1_end + (len(image) - 2) // 2
    damaged_inputs.replace_train_image(manual_dir, whole[:stop])
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short"):
        _read_all(manual_dir)


def test_whole_jpeg_with_an_embedded_thumbnail_is_kept(fresh_sample):
    manual_dir, _ = fresh_sample
    thumbnail = fake_data.encode_image(np.random.default_rng(1), 16)
    whole, _ = _with_thumbnail(_first_image(manual_dir), thumbnail)
    _, name = damaged_inputs.replace_train_image(manual_dir, whole)
    source = ilsvrc.TarLayout.in_dir(manual_dir)
    images = {record.file_name: record.image for record in ilsvrc.iter_split(source, "train")}
    assert images[name] == whole


def test_tar_padded_to_a_large_record_is_read_whole(fresh_sample):
    # `tar -b 128` pads to 64 kB records: zeros after the end marker are not damage.
    manual_dir, sample = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    with open(val_tar, "ab") as f:
        f.write(bytes(-os.path.getsize(val_tar) % (64 << 10)))
    source = ilsvrc.TarLayout.in_dir(manual_dir)
    names = [record.file_name for record in ilsvrc.iter_split(source, "validation")]
    assert names == sample.validation_file_names
