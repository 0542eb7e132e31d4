"""Every exception class of the package derives from `ImagenetPiError`, and the CLI says each
in one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import imagenet_pi
from imagenet_pi import cli, errors


def _error_classes() -> list[type[BaseException]]:
    found = {}
    for module_info in pkgutil.walk_packages(imagenet_pi.__path__, "imagenet_pi."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, Exception)
                and not issubclass(value, Warning)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
            ):
                found[f"{value.__module__}.{value.__name__}"] = value
    return [found[name] for name in sorted(found)]


_CLASSES = _error_classes()


def test_the_package_has_its_error_classes_to_check():
    assert len(_CLASSES) >= 20


@pytest.mark.parametrize("error_class", _CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_error_class_derives_from_the_one_base(error_class):
    assert issubclass(error_class, errors.ImagenetPiError)


def test_the_base_is_public():
    assert imagenet_pi.ImagenetPiError is errors.ImagenetPiError


@pytest.mark.parametrize("error_class", _CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_the_cli_says_every_package_error_in_one_line(error_class, monkeypatch, capsys):
    def fail(args):
        raise error_class.__new__(error_class, "the message of the error")

    def parse(self, argv=None, namespace=None):
        import argparse

        return argparse.Namespace(command="verify", run=fail)

    monkeypatch.setattr(cli.argparse.ArgumentParser, "parse_args", parse)
    assert cli.main(["verify"]) == 1
    assert capsys.readouterr().err == "imagenet-pi verify: error: the message of the error\n"
