"""What is at a path that should hold a file, in words for error messages."""

from __future__ import annotations

import os

_ENTRIES_SHOWN = 3  # entries of a folder named in a message
MISSING = "is missing"  # what `not_a_file` says of a path where nothing is


def not_a_file(path: str | os.PathLike) -> str | None:
    """What is at `path` when it is not a file, to follow the path ("is a folder ..."); None.

    One of `MISSING`, "is a folder (holding ...), not a file", "is a broken link to '...'"
    and "is a special file ...". A link to a file is a file.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return None
    if os.path.isdir(path):
        entries = sorted(os.listdir(path))
        if not entries:
            return "is an empty folder, not a file"
        shown = ", ".join(entries[:_ENTRIES_SHOWN]) + (", ..." if entries[_ENTRIES_SHOWN:] else "")
        return f"is a folder (holding {shown}), not a file"
    if os.path.islink(path):
        return f"is a broken link to {os.readlink(path)!r}"
    if os.path.lexists(path):
        return "is a special file (a FIFO, socket or device), not a regular file"
    return MISSING
