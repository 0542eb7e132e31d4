"""Downloads through TFDS's download manager that fail within seconds, with one error type.

TFDS 4.9 retries every request 10 times with exponential backoff (0.2 s doubling):
offline, a download spends about 3.5 minutes in retries and ends in a raw
`requests.ConnectionError`. Here the retries are cut for the duration of the download
(`internals.few_download_retries`), and every way a download fails comes out as one
builtin `ConnectionError` naming the URL and the reason, for the caller to explain.
Failed requests surface from `DownloadManager.download` as the `requests` exceptions
raised in TFDS's download threads, and non-200 answers as `tfds.download.DownloadError`
("Failed to get url ... HTTP code: 403."); tests/annotations/test_download.py checks each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import requests
import tensorflow_datasets as tfds

from imagenet_pi import internals


def download(dl_manager: tfds.download.DownloadManager, urls: Mapping[str, str]) -> dict[str, str]:
    """`dl_manager.download(urls)` with few retries; key -> local path of the file.

    Cached and pinned files (checksums.tsv) are handled by TFDS as usual.

    Raises:
      ConnectionError: a file could not be fetched (no network, refused connection,
        an HTTP error such as 403); the message names the URL and the reason.
    """
    try:
        with internals.few_download_retries():
            paths = dl_manager.download(dict(urls))
    except tfds.download.DownloadError as error:  # a non-200 answer, e.g. HTTP 403
        raise ConnectionError(str(error)) from error
    except requests.RequestException as error:  # no connection, DNS, TLS, too many 5xx
        url = getattr(error.request, "url", None) or ", ".join(urls.values())
        raise ConnectionError(f"{url}: {type(error).__name__}: {error}") from error
    return {key: os.fspath(path) for key, path in paths.items()}
