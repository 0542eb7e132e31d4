"""The tars are checked before the long work: sizes, opt-in sha256, and damage named precisely."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile

import pytest
import tensorflow_datasets as tfds

from imagenet_pi import archive_checks, cli, fake_data, ilsvrc, upstream


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
        assert archive_checks.size_warnings(paths) == []
    assert not caplog.records


# sha256.


def test_sha256_mismatch_names_file_and_both_sums(small_sample):
    manual_dir, _ = small_sample
    paths = _tar_paths(manual_dir)
    with pytest.raises(archive_checks.ChecksumError) as error:
        archive_checks.verify(paths)
    message = str(error.value)
    for name, path in paths.items():
        assert f"{path} has sha256 {_actual_sums(manual_dir)[name]}" in message
        assert f"expected {upstream.ILSVRC_TAR_SHA256[name]}" in message
    assert "download it again" in message


def test_sha256_match_passes(small_sample):
    manual_dir, _ = small_sample
    verdicts = archive_checks.verify(
        _tar_paths(manual_dir), progress=True, expected=_actual_sums(manual_dir)
    )
    assert [v.ok for v in verdicts] == [True, True]


@pytest.mark.parametrize(("value", "requested"), [("1", True), ("yes", True), ("", False)])
def test_verification_is_opt_in_by_environment(value, requested):
    assert archive_checks.verify_requested({archive_checks.VERIFY_ENV_VAR: value}) is requested
    assert archive_checks.verify_requested({}) is False


def test_build_with_verification_stops_on_a_wrong_sum_before_generating(
    fresh_sample, tmp_path, monkeypatch
):
    manual_dir, _ = fresh_sample
    monkeypatch.setenv(archive_checks.VERIFY_ENV_VAR, "1")
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_train.tar has sha256"):
        _build(manual_dir, str(tmp_path / "data"))
    assert not os.path.exists(tmp_path / "data" / "imagenet_pi" / "high_noise" / "3.0.0")


def test_build_with_verification_passes_when_sums_match(fresh_sample, tmp_path, monkeypatch):
    manual_dir, sample = fresh_sample
    monkeypatch.setenv(archive_checks.VERIFY_ENV_VAR, "1")
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
    source = ilsvrc.TarSource.in_dir(manual_dir)
    for split in upstream.SPLITS:
        for _ in ilsvrc.iter_split(source, split):
            pass


def _member_offsets(archive: str) -> dict[str, ilsvrc.TarMember]:
    return {member.name: member for member in ilsvrc.index_tar(archive)}


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
    size = os.path.getsize(val_tar)
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


def _replace_train_image(manual_dir: str, payload: bytes) -> tuple[str, str]:
    """Rewrites the train tar with its first synset's first image replaced by `payload`."""
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with tarfile.open(train_tar) as outer:
        members = [(m, outer.extractfile(m).read()) for m in outer]
    synset_member, synset_bytes = members[0]
    with tarfile.open(fileobj=io.BytesIO(synset_bytes)) as inner:
        images = [(m, inner.extractfile(m).read()) for m in inner]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as inner:
        for k, (info, data) in enumerate(images):
            data = payload if k == 0 else data
            info.size = len(data)
            inner.addfile(info, io.BytesIO(data))
    members[0] = (synset_member, buffer.getvalue())
    with tarfile.open(train_tar, "w") as outer:
        for info, data in members:
            info.size = len(data)
            outer.addfile(info, io.BytesIO(data))
    return synset_member.name, images[0][0].name


def test_empty_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = _replace_train_image(manual_dir, b"")
    with pytest.raises(ilsvrc.IlsvrcError, match="is an empty file") as error:
        _read_all(manual_dir)
    assert f"member {synset_tar!r}, image {image!r}" in str(error.value)


def test_garbage_image_member_names_archive_member_and_image(fresh_sample):
    manual_dir, _ = fresh_sample
    synset_tar, image = _replace_train_image(manual_dir, b"\x00\x01 not a JPEG")
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
    monkeypatch.setenv(archive_checks.VERIFY_ENV_VAR, "1")
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        assert isinstance(ilsvrc.detect_source(manual_dir), ilsvrc.FolderSource)
    assert "has no official checksums: nothing was verified" in caplog.text
