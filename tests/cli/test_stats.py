"""`imagenet-pi stats`: the noise report of a folder of PI CSVs or of a build, printed as text or
JSON, its files written, bad input in one line."""

from __future__ import annotations

import contextlib
import io
import json
import os

import pytest
import tensorflow_datasets as tfds

from imagenet_pi import cli, fake_data, upstream

_NAME = "imagenet_pi/high_noise"


def _version_dir(data_dir: str) -> str:
    return os.fspath(tfds.builder(_NAME, data_dir=data_dir).data_path)


def test_stats_command_prints_json_for_scripts(small_sample, capsys):
    manual_dir, _ = small_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    assert cli.main(["stats", "--annotations", config_dir, "--json", "--top", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["splits"]) == set(upstream.SPLITS)
    assert len(result["splits"]["train"]["transitions"]["top_confusions"]) == 2
    assert result["expected_agreement"] == 0.162


@pytest.fixture(scope="module")
def stats_of_built_validation(built_high_noise, tmp_path_factory) -> tuple[int, str, str]:
    """`imagenet-pi stats` of the shared build's validation split: (exit code, stdout, --out)."""
    data_dir, _ = built_high_noise
    out = str(tmp_path_factory.mktemp("stats_out"))
    argv = ["stats", "--dataset", "imagenet_pi/high_noise", "--data-dir", data_dir]
    argv += ["--splits", "validation", "--out", out, "--no-progress"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(argv)
    return code, stdout.getvalue(), out


def test_stats_command_prints_the_report_as_text(stats_of_built_validation, built_high_noise):
    code, stdout, _ = stats_of_built_validation
    _, sample = built_high_noise
    assert code == 0
    assert f"validation: {len(sample.validation_file_names)} examples x 16 annotators" in stdout
    assert "(published: 16.2%)" in stdout and "report.md" in stdout


def test_stats_command_writes_the_report_files_of_its_splits(stats_of_built_validation):
    code, _, out = stats_of_built_validation
    assert code == 0
    assert os.path.isfile(os.path.join(out, "validation_agreement.png"))
    assert os.path.isfile(os.path.join(out, "report.md"))


def test_stats_command_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    assert cli.main(["stats", "--annotations", str(tmp_path / "nope")]) == 1
    assert "imagenet-pi stats: error:" in capsys.readouterr().err


def test_stats_command_needs_one_source():
    with pytest.raises(SystemExit):
        cli.main(["stats"])


def test_stats_command_reads_an_array_record_build_as_it_reads_tfrecord(
    built_high_noise, built_high_noise_array_record, capsys
):
    reports = []
    for data_dir, _ in (built_high_noise, built_high_noise_array_record):
        argv = ["stats", "--dataset", "imagenet_pi/high_noise", "--data-dir", data_dir, "--json"]
        assert cli.main([*argv, "--no-progress"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    tfrecord, array_record = reports
    assert array_record["source"] != tfrecord["source"]
    assert array_record["splits"] == tfrecord["splits"]
    assert (
        array_record["splits"]["train"]["num_examples"]
        == fake_data.SMALL_SAMPLE["num_synsets"] * fake_data.SMALL_SAMPLE["images_per_synset"]
    )


def test_stats_command_reads_the_version_folder_it_is_given(built_high_noise, capsys):
    data_dir, _ = built_high_noise
    argv = ["stats", "--dataset", _NAME, "--data-dir", _version_dir(data_dir), "--json"]
    assert cli.main([*argv, "--splits", "validation", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["validation"]["num_examples"] == 6


@pytest.mark.slow  # the command in a process of its own, TensorFlow's start-up included
def test_stats_of_a_debug_build_warns_in_one_line_with_the_command_to_build_in_full(
    small_sample, tmp_path
):
    import identity_builds
    import python_process

    manual_dir, _ = small_sample
    identity_builds.build(tmp_path, manual_dir, max_examples_per_split=2)
    result = python_process.run_to_exit(
        "from imagenet_pi import cli; raise SystemExit(cli.main(["
        f"'stats', '--dataset', {_NAME!r}, '--data-dir', {str(tmp_path)!r}, '--json']))"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if "debug build" in line]
    assert line.startswith(f"imagenet-pi stats: warning: {_NAME}/3.0.0 in data_dir {tmp_path}")
    assert "warnings.warn" not in result.stderr and "PartialBuildWarning" not in result.stderr
    assert (
        f"tfds build {_NAME} --imports imagenet_pi --manual_dir <manual_dir> "
        f"--data_dir {tmp_path} --overwrite" in line
    )
