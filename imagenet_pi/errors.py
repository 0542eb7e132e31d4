"""The one base of every exception this package raises on purpose.

Each error class of the package derives from `ImagenetPiError` and from the built-in
exception a caller would expect for it (`ValueError` for bad input, `FileNotFoundError`,
`PermissionError`, `ConnectionError`, `RuntimeError`), so that both
`except imagenet_pi.ImagenetPiError` and the built-in catch it. The `imagenet-pi`
command prints any of them as one line, `imagenet-pi <command>: error: <message>`.
"""

from __future__ import annotations


class ImagenetPiError(Exception):
    """An error of imagenet_pi: its message names the file, what was expected and what to do."""
