"""Every exception class of the package derives from `ImagenetPiError` (the CLI says each in
one line: tests/cli/test_init.py)."""

from __future__ import annotations

import package_errors
import pytest

import imagenet_pi
from imagenet_pi import errors

_CLASSES = package_errors.error_class_names()


def test_the_package_has_its_error_classes_to_check():
    assert len(_CLASSES) >= 20


def test_the_error_classes_read_from_the_source_are_those_the_modules_define():
    assert package_errors.imported_error_class_names() == _CLASSES


@pytest.mark.parametrize("error_class", _CLASSES, ids=str, indirect=True)
def test_every_error_class_derives_from_the_one_base(error_class):
    assert issubclass(error_class, errors.ImagenetPiError)


def test_the_base_is_public():
    assert imagenet_pi.ImagenetPiError is errors.ImagenetPiError
