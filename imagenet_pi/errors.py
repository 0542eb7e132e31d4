"""The one base of the package's own exception classes.

Each error class of the package derives from `ImagenetPiError` and from the built-in
exception a caller would expect for it (`ValueError` for bad input, `FileNotFoundError`,
`PermissionError`, `ConnectionError`, `RuntimeError`), so that both
`except imagenet_pi.ImagenetPiError` and the built-in catch it. Checks of arguments and
options, a config that is not built and a few other errors raise the built-in exception
itself (`ValueError`, `TypeError`, `FileNotFoundError`, `IndexError`): the built-in catches
every error. The `imagenet-pi` command prints any of them as one line,
`imagenet-pi <command>: error: <message>`.
"""

from __future__ import annotations


class ImagenetPiError(Exception):
    """An error of imagenet_pi: its message names the file, what was expected and what to do."""
