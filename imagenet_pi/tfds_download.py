"""Downloads through TFDS's download manager that fail within seconds: the one place that
relies on TFDS download-manager internals.

TFDS 4.9 retries every request 10 times with exponential backoff (0.2 s doubling):
offline, a download spends about 3.5 minutes in retries and ends in a raw
`requests.ConnectionError`. Here the retries are cut to `FAIL_FAST_RETRIES` for the
duration of the download, and every way a download fails comes out as one builtin
`ConnectionError` naming the URL and the reason, for the caller to explain.

Internals relied upon (tests/test_tfds_download.py checks each):
- `tensorflow_datasets.core.download.downloader.MAX_RETRIES`, an int read each time a
  request is opened (`_open_with_requests` builds its `urllib3` `Retry` from it);
- failed requests surface from `DownloadManager.download` as the `requests` exceptions
  raised in TFDS's download threads, and non-200 answers as `tfds.download.DownloadError`
  ("Failed to get url ... HTTP code: 403.").
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

import requests
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import downloader

# Two retries absorb a dropped connection yet fail in under a second (backoff 0 s, 0.4 s).
FAIL_FAST_RETRIES = 2

_lock = threading.Lock()
_active = 0  # downloads in progress under `few_retries`, across threads
_saved_max_retries: int | None = None


@contextlib.contextmanager
def few_retries() -> Iterator[None]:
    """Caps TFDS's per-request retries at `FAIL_FAST_RETRIES` while inside (thread-safe).

    The cap is process-wide while any download is inside: other TFDS downloads of the
    process retry as few times meanwhile.
    """
    global _active, _saved_max_retries
    with _lock:
        if _active == 0:
            _saved_max_retries = downloader.MAX_RETRIES
        _active += 1
        downloader.MAX_RETRIES = min(_saved_max_retries, FAIL_FAST_RETRIES)
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                downloader.MAX_RETRIES = _saved_max_retries


def download(dl_manager: tfds.download.DownloadManager, urls: Mapping[str, str]) -> dict[str, str]:
    """`dl_manager.download(urls)` with few retries; key -> local path of the file.

    Cached and pinned files (checksums.tsv) are handled by TFDS as usual.

    Raises:
      ConnectionError: a file could not be fetched (no network, refused connection,
        an HTTP error such as 403); the message names the URL and the reason.
    """
    try:
        with few_retries():
            paths = dl_manager.download(dict(urls))
    except tfds.download.DownloadError as error:  # a non-200 answer, e.g. HTTP 403
        raise ConnectionError(str(error)) from error
    except requests.RequestException as error:  # no connection, DNS, TLS, too many 5xx
        url = getattr(error.request, "url", None) or ", ".join(urls.values())
        raise ConnectionError(f"{url}: {type(error).__name__}: {error}") from error
    return {key: os.fspath(path) for key, path in paths.items()}
