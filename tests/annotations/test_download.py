"""Downloads through TFDS fail within seconds, as one `ConnectionError` naming URL and reason.

The retry cap it relies on is tested in tests/test_internals.py. Downloads go to
127.0.0.1 only (a closed port, or a server in a thread of this process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import csv_pins
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import download_manager

from imagenet_pi.annotations import download, releases


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    for key, value in csv_pins.no_network_env({}).items():
        monkeypatch.setenv(key, value)


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import tensorflow_datasets as tfds
    from imagenet_pi.annotations import download
    url, download_dir = sys.argv[1], sys.argv[2]
    manager = tfds.download.DownloadManager(download_dir=download_dir)
    start = time.monotonic()
    try:
        download.download(manager, {"file": url})
        outcome = {"error": None}
    except Exception as error:
        outcome = {"error": type(error).__name__, "message": str(error)}
    outcome["seconds"] = time.monotonic() - start
    print("OUTCOME " + json.dumps(outcome))
    """
)


def _download_in_subprocess(url: str, download_dir: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, url, download_dir],
        capture_output=True,
        text=True,
        timeout=240,  # the hang guard; TFDS's own retries take about 3.5 minutes
        env=csv_pins.no_network_env(dict(os.environ)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("OUTCOME "))
    return json.loads(line[len("OUTCOME ") :])


def test_a_refused_connection_fails_fast_with_a_connection_error_naming_the_url(tmp_path):
    # With TFDS's own retries a refused connection takes ~210 s of backoff.
    url = csv_pins.closed_port_url_root() + "/high_noise/labels/train.csv"
    outcome = _download_in_subprocess(url, str(tmp_path))
    assert outcome["error"] == "ConnectionError", outcome
    assert url in outcome["message"] and "Connection refused" in outcome["message"]
    assert outcome["seconds"] < 30, outcome


def test_an_http_error_surfaces_as_tfds_download_error_with_the_code(tmp_path):
    with csv_pins.local_server(status=403, body=b"over its data quota") as root:
        manager = tfds.download.DownloadManager(download_dir=str(tmp_path))
        with pytest.raises(ConnectionError, match="HTTP code: 403") as error:
            download.download(manager, {"file": f"{root}/high_noise/labels/train.csv"})
    assert isinstance(error.value.__cause__, tfds.download.DownloadError)


def test_server_errors_after_the_capped_retries_surface_as_a_connection_error(tmp_path):
    # TFDS retries 500-504 answers (with backoff: in a subprocess), then raises RetryError.
    with csv_pins.local_server(status=503, body=b"busy") as root:
        outcome = _download_in_subprocess(f"{root}/a.csv", str(tmp_path))
    assert outcome["error"] == "ConnectionError", outcome
    assert "RetryError" in outcome["message"] and "503" in outcome["message"]
    assert f"{root}/a.csv" in outcome["message"]
    assert outcome["seconds"] < 30, outcome


def test_a_pinned_file_is_downloaded_and_checked(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "a.csv").write_bytes(b"x.JPEG,1\n")
    with csv_pins.local_server(files_dir=str(served)) as root:
        url = f"{root}/a.csv"
        pin = releases.PinnedFile(url, 9, releases.sha256_of(served / "a.csv"))
        good = tfds.core.download.checksums.UrlInfo(pin.size, pin.sha256, "a.csv")
        manager = tfds.download.DownloadManager(
            download_dir=str(tmp_path / "dl"), url_infos={url: good}
        )
        paths = download.download(manager, {"file": url})
        with open(paths["file"], "rb") as f:
            assert f.read() == b"x.JPEG,1\n"
        wrong = tfds.core.download.checksums.UrlInfo(pin.size, "0" * 64, "a.csv")
        manager = tfds.download.DownloadManager(
            download_dir=str(tmp_path / "dl2"), url_infos={url: wrong}
        )
        with pytest.raises(download_manager.NonMatchingChecksumError):
            download.download(manager, {"file": url})
