"""The PI CSVs as a user meets them: through the `tfds build` command, and offline builds in a
subprocess (a download can hang) that fail within seconds naming the local options.

Downloads go to 127.0.0.1 only; every proxy points at a closed local port, so a stray
request to the real network fails at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import csv_pins
import in_process_builds
import pytest
import tfds_command

from imagenet_pi import fake_data, upstream

_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FEATURES = upstream.ANNOTATOR_FEATURES_RELPATH
_SUBPROCESS_TIMEOUT = 240  # the hang guard; TFDS's own retries take about 3.5 minutes


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    for key, value in csv_pins.no_network_env({}).items():
        monkeypatch.setenv(key, value)


@pytest.mark.slow
def test_tfds_build_names_the_file_line_and_name_of_a_space_before_a_comma(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, "imagenet_pi", "high_noise", "confidences", "train.csv")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    name = lines[2].split(b",")[0].decode()
    lines[2] = lines[2].replace(b",", b" ,", 1)
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))
    result = tfds_command.tfds_build("imagenet_pi/high_noise", manual_dir, str(tmp_path / "data"))
    assert result.returncode != 0
    expected = f"{path}, line 3: the file name '{name} ' ends with whitespace"
    assert expected in result.stderr, result.stderr[-3000:]
    assert "do not annotate the same" not in result.stderr


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {tests_dir!r})
    import tensorflow_datasets as tfds
    import csv_pins
    args = json.loads(sys.argv[1])
    builder_cls = csv_pins.builder_class(args["checksums"], args["url_root"])
    builder = builder_cls(config=args["config"], data_dir=args["data_dir"])
    start = time.monotonic()
    try:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=args["manual_dir"])
        )
        outcome = {{"error": None}}
    except Exception as error:
        outcome = {{"error": type(error).__name__, "message": str(error)}}
    outcome["seconds"] = time.monotonic() - start
    print("OUTCOME " + json.dumps(outcome))
    """
).format(tests_dir=_TESTS_DIR)


def _build_in_subprocess(manual_dir, data_dir, checksums, url_root, config="high_noise"):
    args = dict(
        manual_dir=manual_dir,
        data_dir=data_dir,
        checksums=checksums,
        url_root=url_root,
        config=config,
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=_SUBPROCESS_TIMEOUT,
        env=csv_pins.no_network_env(dict(os.environ)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("OUTCOME "))
    return json.loads(line[len("OUTCOME ") :])


@pytest.fixture
def tars_only(tmp_path) -> str:
    manual_dir = str(tmp_path / "manual")
    fake_data.write_ilsvrc_tars(manual_dir, **fake_data.SMALL_SAMPLE)
    return manual_dir


def _assert_names_the_local_options(message: str, manual_dir: str, config: str) -> None:
    assert os.path.join(manual_dir, "imagenet_pi") + "/" in message  # a clone
    assert os.path.join(manual_dir, config) + "/" in message  # a config folder
    assert os.path.join(manual_dir, "labels") + "/" in message  # TFDS's layout
    assert os.path.join(manual_dir, "confidences") + "/" in message
    assert "git lfs" in message and 'docs/annotations.md, "The ImageNet-PI CSVs"' in message


def test_offline_build_fails_within_seconds_naming_the_local_options(tars_only, tmp_path):
    url_root = csv_pins.closed_port_url_root()
    checksums = csv_pins.copy_checksums(str(tmp_path / "checksums.tsv"), url_root)
    outcome = _build_in_subprocess(tars_only, str(tmp_path / "data"), checksums, url_root)
    assert outcome["error"] == "CsvDownloadError", outcome
    assert outcome["message"].startswith("Could not download the ImageNet-PI CSVs of high_noise")
    assert "Connection" in outcome["message"] and url_root in outcome["message"]
    _assert_names_the_local_options(outcome["message"], tars_only, "high_noise")
    assert outcome["seconds"] < 30, outcome  # TFDS's own retries took about 210 s
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


@pytest.mark.slow
def test_http_403_over_quota_gets_the_same_guidance(tars_only, tmp_path):
    body = b"This repository is over its data quota. Account responsible for LFS bandwidth..."
    with csv_pins.local_server(status=403, body=body) as server_root:
        url_root = f"{server_root}/media"
        checksums = csv_pins.copy_checksums(str(tmp_path / "checksums.tsv"), url_root)
        outcome = _build_in_subprocess(
            tars_only, str(tmp_path / "data"), checksums, url_root, config="low_noise"
        )
    assert outcome["error"] == "CsvDownloadError", outcome
    assert "HTTP code: 403" in outcome["message"] and "data quota" in outcome["message"]
    _assert_names_the_local_options(outcome["message"], tars_only, "low_noise")


@pytest.mark.slow
def test_offline_flat_layout_without_annotator_features_says_where_to_put_it(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    url_root = csv_pins.closed_port_url_root()
    checksums = csv_pins.write_checksums(str(tmp_path / "t.tsv"), flat_sample.released, url_root)
    outcome = _build_in_subprocess(
        flat_sample.manual_dir, str(tmp_path / "data"), checksums, url_root
    )
    assert outcome["error"] == "CsvDownloadError", outcome
    assert outcome["message"].startswith("Could not download annotator_features.csv")
    assert os.path.join(flat_sample.manual_dir, _FEATURES) in outcome["message"]
    assert "are high_noise's" in outcome["message"]
    assert outcome["seconds"] < 30, outcome
