"""`imagenet-pi demo`: its own sample's warnings silenced, and only those."""

from __future__ import annotations

import logging

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
