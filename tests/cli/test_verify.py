"""`imagenet-pi verify`: what the command prints of the tars it finds and of those it does not.

What the check itself finds (sizes, sha256) is in tests/ilsvrc/test_verification.py."""

from __future__ import annotations

import hashlib
import os
import shutil

from imagenet_pi import cli, upstream


def test_a_missing_tar_is_said_and_the_other_checked(small_sample, tmp_path, monkeypatch, capsys):
    manual_dir, _ = small_sample
    val_tar = shutil.copy(os.path.join(manual_dir, upstream.VAL_TAR), tmp_path)
    with open(val_tar, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    monkeypatch.setitem(upstream.ILSVRC_TAR_SHA256, upstream.VAL_TAR, digest)
    assert cli.main(["verify", "--manual_dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"{tmp_path / upstream.TRAIN_TAR}: not there, not checked." in lines
    assert f"{val_tar}: OK (sha256 {digest})" in lines
    sizes = [line for line in lines if line.startswith("Size: ")]
    assert len(sizes) == 1 and upstream.VAL_TAR in sizes[0]  # the synthetic tar is small
