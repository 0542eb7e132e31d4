"""`imagenet-pi demo`: its own sample's warnings silenced, and only those."""

from __future__ import annotations

import logging

from imagenet_pi import cli
from imagenet_pi.cli import demo


def test_demo_silences_warnings_about_its_own_sample_only(caplog):
    logger = logging.getLogger("imagenet_pi.ilsvrc.verification")
    with caplog.at_level(logging.WARNING, logger="imagenet_pi.ilsvrc.verification"):
        with demo._without_warnings_about("/tmp/demo/manual"):
            logger.warning("/tmp/demo/manual/ILSVRC2012_img_train.tar has 440,320 bytes")
            logger.warning("/data/manual/ILSVRC2012_img_train.tar has 440,320 bytes")
        logger.warning("/tmp/demo/manual/ILSVRC2012_img_val.tar has 204,800 bytes")
    assert [record.getMessage() for record in caplog.records] == [
        "/data/manual/ILSVRC2012_img_train.tar has 440,320 bytes",
        "/tmp/demo/manual/ILSVRC2012_img_val.tar has 204,800 bytes",
    ]


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
