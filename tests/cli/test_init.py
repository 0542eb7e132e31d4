"""`imagenet_pi.cli.main`: the console script's entry point, and every package error said in
one line. (`python -m imagenet_pi.cli` runs it: tests/end_to_end/test_imagenet_pi_command.py.)"""

from __future__ import annotations

import importlib.metadata

import package_errors
import pytest

from imagenet_pi import cli

_CLASSES = package_errors.error_class_names()


def test_the_console_script_is_main():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="imagenet-pi")
    assert script.value == "imagenet_pi.cli:main"
    assert script.load() is cli.main


@pytest.mark.parametrize("error_class", _CLASSES, ids=str, indirect=True)
def test_the_cli_says_every_package_error_in_one_line(error_class, monkeypatch, capsys):
    def fail(args):
        raise error_class.__new__(error_class, "the message of the error")

    def parse(self, argv=None, namespace=None):
        import argparse

        return argparse.Namespace(command="verify", run=fail)

    monkeypatch.setattr(cli.argparse.ArgumentParser, "parse_args", parse)
    assert cli.main(["verify"]) == 1
    assert capsys.readouterr().err == "imagenet-pi verify: error: the message of the error\n"
