"""`imagenet-pi check-build`: what the command prints of a build whose files all match.

What a check finds in a damaged build is in tests/test_build_checks.py."""

from __future__ import annotations

from imagenet_pi import cli

_CONFIG = "imagenet_pi/high_noise"


def _check(data_dir: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["check-build", "--dataset", _CONFIG, "--data-dir", data_dir, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_intact_build_passes(copied_build, capsys):
    code, out, _ = _check(copied_build, capsys)
    assert code == 0
    assert out.strip().endswith("files match the sizes and sha256 recorded when it was built.")
