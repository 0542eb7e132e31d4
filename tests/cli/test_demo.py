"""`imagenet-pi demo`: a second run over a workdir of another sample says what to do."""

from __future__ import annotations

from imagenet_pi import cli


def test_a_workdir_holding_a_demo_of_another_sample_says_to_pass_another(tmp_path, capsys):
    """The second run of `demo --workdir DIR` with other sample flags cannot reuse DIR's
    dataset: the error names the demo's way out, not `tfds build --overwrite`."""
    workdir = str(tmp_path / "demo")
    small = ["--synsets", "2", "--images-per-synset", "2", "--validation", "4"]
    small += ["--image-size", "16", "--cmyk", "0", "--png", "0"]
    assert cli.main(["demo", "--workdir", workdir, *small]) == 0
    assert cli.main(["demo", "--workdir", workdir, *small, "--seed", "1"]) == 1
    error = capsys.readouterr().err
    assert f"imagenet-pi demo: error: {workdir} holds a demo dataset" in error
    assert "another --workdir" in error
    assert "--overwrite" not in error
