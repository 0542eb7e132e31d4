"""The released files pinned in checksums.tsv, and files identified as a released config."""

from __future__ import annotations

import hashlib
import os

import pytest

import imagenet_pi
from imagenet_pi import upstream
from imagenet_pi.annotations import releases

_FEATURES = upstream.ANNOTATOR_FEATURES_RELPATH


def _write(path, payload: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(payload)
    return str(path)


def _pin(path: str, url: str = "https://example.invalid/x") -> releases.PinnedFile:
    return releases.PinnedFile(url, os.path.getsize(path), releases.sha256_of(path))


@pytest.fixture
def pinned_table(tmp_path):
    """A synthetic pinned table of two configs whose files differ in size, and the files."""
    files = {
        "a": {"labels/train.csv": _write(tmp_path / "a" / "lt", b"x.JPEG,1\n" * 3)},
        "b": {"labels/train.csv": _write(tmp_path / "b" / "lt", b"x.JPEG,22\n" * 3)},
    }
    for config, size in (("a", 5), ("b", 7)):
        files[config]["labels/validation.csv"] = _write(tmp_path / config / "lv", b"v" * size)
    pinned = {c: {rel: _pin(path) for rel, path in fs.items()} for c, fs in files.items()}
    return pinned, files


def test_identify_release_names_the_config_whose_sizes_and_sha256_match(pinned_table):
    pinned, files = pinned_table
    assert releases.identify_release(files["b"], pinned).config == "b"
    assert releases.identify_release(files["a"], pinned).config == "a"


def test_right_size_other_bytes_is_no_release_and_says_which_file(pinned_table, tmp_path):
    pinned, files = pinned_table
    edited = dict(files["a"])
    edited["labels/train.csv"] = _write(tmp_path / "edited", b"x.JPEG,2\n" * 3)  # same size
    match = releases.identify_release(edited, pinned)
    assert match.config is None
    assert "damaged or edited" in match.findings["labels/train.csv"]
    assert match.findings["labels/validation.csv"] == "a's"


def test_files_of_two_configs_are_no_release(pinned_table):
    pinned, files = pinned_table
    mixed = {"labels/train.csv": files["a"]["labels/train.csv"]}
    mixed["labels/validation.csv"] = files["b"]["labels/validation.csv"]
    match = releases.identify_release(mixed, pinned)
    assert match.config is None
    assert "the size of a's" in match.findings["labels/train.csv"]
    assert "the size of b's" in match.findings["labels/validation.csv"]


def test_unknown_size_and_lfs_pointer_are_named_per_file(pinned_table, tmp_path):
    pinned, _ = pinned_table
    odd = {
        "labels/train.csv": _write(
            tmp_path / "pointer", upstream.LFS_POINTER_PREFIX + b"\noid sha256:00\nsize 9\n"
        ),
        "labels/validation.csv": _write(tmp_path / "odd", b"v" * 6),
    }
    match = releases.identify_release(odd, pinned)
    assert match.config is None
    assert "Git LFS pointer" in match.findings["labels/train.csv"]
    assert match.findings["labels/validation.csv"] == "6 bytes, the size of no released file"


def test_sha256_of_follows_a_file_rewritten_with_the_same_size(tmp_path):
    # A remembered sum is keyed by the file's inode, size and times, never by its path alone.
    path = tmp_path / "labels.csv"
    for text in (b"a,1\n", b"b,1\n", b"c,1\n"):
        path.write_bytes(text)
        assert releases.sha256_of(path) == hashlib.sha256(text).hexdigest()


def test_pinned_files_reads_every_released_url_from_the_real_checksums():
    pins = releases.pinned_files(imagenet_pi.Builder.url_infos)
    assert sorted(pins) == sorted(upstream.NOISE_LEVELS)
    high = pins["high_noise"]["labels/train.csv"]
    assert (high.size, high.sha256[:8]) == (107082946, "edd1a2d6")
    assert high.url == upstream.lfs_url("high_noise", "labels/train.csv")
    assert pins["low_noise"][_FEATURES].sha256 == pins["high_noise"][_FEATURES].sha256
    with pytest.raises(ValueError, match="checksums.tsv.*Reinstall"):
        releases.pinned_files({})
