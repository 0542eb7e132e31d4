"""How many worker processes a build without Beam uses: `build_workers`, else the environment
variable `IMAGENET_PI_BUILD_WORKERS`, else every CPU this process may run on."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

ENV = "IMAGENET_PI_BUILD_WORKERS"


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check(value: Any, what: str = "build_workers") -> int:
    """`value` as a worker count, or ValueError naming `what` and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"{what}: expected a positive integer (the number of worker processes of a "
            f"build; 1 builds in this process), found {value!r}."
        )
    return int(value)


def resolve(requested: int | None = None) -> int:
    """The worker processes a build uses.

    `requested` (the builder's `build_workers`) if given, else the environment variable
    `IMAGENET_PI_BUILD_WORKERS`, else every CPU this process may run on.

    Raises:
      ValueError: `requested` or the variable is not a positive integer.
    """
    if requested is not None:
        return check(requested)
    text = os.environ.get(ENV)
    if text is None or not text.strip():
        return available_cpus()
    # ASCII digits only: int() would also read "1_000", "+2" and other scripts' digits.
    digits = text.strip()
    value = int(digits) if re.fullmatch(r"[0-9]+", digits) else None
    if value is None or value < 1:
        raise ValueError(
            f"{ENV}={text!r} is not a positive integer: set it to the number of "
            "worker processes a build may use (1 builds in this process), or unset it to use "
            f"every CPU this process may run on ({available_cpus()})."
        )
    return value
