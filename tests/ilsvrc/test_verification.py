"""The tars against the official sizes (a warning) and sha256 (opt-in: the config's
`verify_archives`, else IMAGENET_PI_VERIFY_ARCHIVES; or `imagenet-pi verify`)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os

import in_process_builds
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import cli, ilsvrc, upstream
from imagenet_pi.ilsvrc import verification


def _tar_paths(manual_dir: str) -> dict[str, str]:
    return {name: os.path.join(manual_dir, name) for name in (upstream.TRAIN_TAR, upstream.VAL_TAR)}


def _actual_sums(manual_dir: str) -> dict[str, str]:
    return {
        name: hashlib.sha256(open(path, "rb").read()).hexdigest()
        for name, path in _tar_paths(manual_dir).items()
    }


def test_size_mismatch_warns_naming_both_sizes_before_the_build(fresh_sample, tmp_path, caplog):
    manual_dir, _ = fresh_sample
    os.remove(os.path.join(manual_dir, verification.SYNTHETIC_SAMPLE_FILE))  # a subset of one's own
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        in_process_builds.build(
            manual_dir, str(tmp_path / "data")
        )  # a subset is legitimate: it builds
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (train_warning,) = [w for w in warnings if w.startswith(train_tar)]
    assert f"has {os.path.getsize(train_tar):,} bytes" in train_warning
    assert "not the official 147,897,477,120: a subset, or incomplete" in train_warning
    assert "imagenet-pi verify" in train_warning
    assert len(train_warning) - len(train_tar) < 120  # one short line, besides the path


def test_the_synthetic_sample_builds_with_no_size_warning_and_is_said_to_be_one(
    fresh_sample, tmp_path, caplog
):
    # fake_data records its tars beside them: they are no subset of the user's to warn about.
    manual_dir, _ = fresh_sample
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    records = [r for r in caplog.records if "not the official" in r.getMessage()]
    assert len(records) == 2
    assert {r.levelno for r in records} == {logging.INFO}
    assert all("the synthetic sample of `imagenet-pi fake-data`" in r.getMessage() for r in records)


def test_a_synthetic_samples_tar_of_another_size_than_written_warns(fresh_sample, tmp_path, caplog):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    with open(val_tar, "ab") as file:
        file.write(bytes(512))  # zero padding after the end: still a good tar, but changed
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if w.startswith(val_tar)] == [
        f"{val_tar} has {os.path.getsize(val_tar):,} bytes, not the official "
        f"{upstream.ILSVRC_TAR_SIZES[upstream.VAL_TAR]:,}: a subset, or incomplete "
        "(`imagenet-pi verify` checks it)"
    ]


@pytest.mark.parametrize("record", ["{", '{"tars": [1]}', '{"tars": {"x.tar": 1}}'])
def test_a_record_of_no_synthetic_sample_of_these_tars_leaves_the_warning(
    small_sample, record, tmp_path
):
    manual_dir, _ = small_sample
    folder = tmp_path / "manual"
    folder.mkdir()
    for name, path in _tar_paths(manual_dir).items():
        os.symlink(path, folder / name)
    (folder / verification.SYNTHETIC_SAMPLE_FILE).write_text(record)
    said = verification.size_warnings(_tar_paths(str(folder)), log=False)
    assert len(said) == 2 and all("a subset, or incomplete" in line for line in said)


def test_official_sizes_give_no_warning(small_sample, monkeypatch, caplog):
    manual_dir, _ = small_sample
    paths = _tar_paths(manual_dir)
    for name, path in paths.items():
        monkeypatch.setitem(upstream.ILSVRC_TAR_SIZES, name, os.path.getsize(path))
    with caplog.at_level(logging.WARNING, logger="imagenet_pi"):
        assert verification.size_warnings(paths) == []
    assert not caplog.records


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


def test_a_bad_value_stops_the_build_before_any_input_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "maybe")
    # No manual_dir at all: the variable is read before TFDS would complain about it.
    with pytest.raises(verification.VerifySettingError, match="IMAGENET_PI_VERIFY_ARCHIVES="):
        in_process_builds.build(str(tmp_path / "absent"), str(tmp_path / "data"))
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
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert not os.path.exists(tmp_path / "data" / "imagenet_pi" / "high_noise" / "3.0.0")


def test_build_with_verification_passes_when_sums_match(fresh_sample, tmp_path, monkeypatch):
    manual_dir, sample = fresh_sample
    monkeypatch.setenv(verification.VERIFY_ENV_VAR, "1")
    # The official sums of 150 GB cannot be met here: take the sample's as the reference.
    for name, digest in _actual_sums(manual_dir).items():
        monkeypatch.setitem(upstream.ILSVRC_TAR_SHA256, name, digest)
    builder = in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


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
