"""Checks of the ILSVRC2012 tars against the official sizes and sha256 sums.

The size check is free and runs before every build from the tars: a mismatch is a
warning, not an error, since a subset of the archives is legitimate for experiments. The
synthetic sample of `imagenet_pi.fake_data` records its tars' sizes beside them
(`record_synthetic_sample`): building from it says so at INFO level, with no warning.
The sha256 check reads all 155 GB (minutes to an hour), so it is opt-in:
`imagenet-pi verify --manual_dir DIR`, or for a build the config's `verify_archives`,
which defaults to the environment variable `IMAGENET_PI_VERIFY_ARCHIVES` (read once, when
the build starts).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence

from imagenet_pi import errors, upstream

logger = logging.getLogger(__name__)

# Set to 1 (or true/yes/on) to verify the tars' sha256 before a build reads them.
VERIFY_ENV_VAR = "IMAGENET_PI_VERIFY_ARCHIVES"
# The words of the variable, in any case and with spaces around, as for most tools' flags.
_YES_WORDS = ("1", "true", "yes", "on")
_NO_WORDS = ("", "0", "false", "no", "off")
_CHUNK_BYTES = 8 << 20
# Beside the tars of a synthetic sample: {"written_by": ..., "tars": {tar name: size}}.
SYNTHETIC_SAMPLE_FILE = "imagenet_pi_synthetic_sample.json"


class ChecksumError(errors.ImagenetPiError, ValueError):
    """A tar's sha256 differs from the official one."""


class VerifySettingError(errors.ImagenetPiError, ValueError):
    """`IMAGENET_PI_VERIFY_ARCHIVES` or `verify_archives` holds something other than yes or no."""


def verify_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for sha256 verification before a build (`VERIFY_ENV_VAR`).

    Unset, empty, 0, false, no and off (any case) say no; 1, true, yes and on say yes.

    Raises:
      VerifySettingError: any other value, naming the variable and the value.
    """
    value = environ.get(VERIFY_ENV_VAR, "")
    word = value.strip().lower()
    if word in _YES_WORDS or word in _NO_WORDS:
        return word in _YES_WORDS
    raise VerifySettingError(
        f"{VERIFY_ENV_VAR}={value!r}: expected 1, true, yes or on to check the sha256 of the "
        "ILSVRC2012 tars before the build, or 0, false, no, off or nothing not to (in any "
        "case). Set it to one of these, or unset it; nothing was built."
    )


def verify_archives(config_value: bool | None, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a build checks the tars' sha256: the config says, else the environment.

    Args:
      config_value: `ImagenetPiConfig.verify_archives`: True or False decide; None leaves it
        to `VERIFY_ENV_VAR` (`verify_requested`).
      environ: the environment, read only when `config_value` is None.
    """
    return verify_requested(environ) if config_value is None else config_value


def check_verify_setting(value: object) -> bool | None:
    """`value` if it is a valid `verify_archives` (True, False or None), else VerifySettingError."""
    if value is None or isinstance(value, bool):
        return value
    raise VerifySettingError(
        f"verify_archives: expected True, False or None (None: the environment variable "
        f"{VERIFY_ENV_VAR} decides), found {value!r} of type {type(value).__name__}. In "
        "`tfds build --config` JSON, write true or false without quotes."
    )


def size_warnings(paths: Mapping[str, str], log: bool = True) -> list[str]:
    """Warnings for tars whose size differs from the official one (logged if `log`).

    A tar of the synthetic sample (`record_synthetic_sample`, as written) is said to be
    one, and logged at INFO level: it is no subset of the user's to warn about.

    Args:
      paths: official tar name (`upstream.TRAIN_TAR` or `upstream.VAL_TAR`) -> its path.
      log: also log each warning.
    """
    warnings = []
    for name, path in paths.items():
        expected, found = upstream.ILSVRC_TAR_SIZES[name], os.path.getsize(path)
        if found == expected:
            continue
        synthetic = _is_synthetic_sample(path, found)
        # One short line: a subset made on purpose (a sample, a test) is legitimate.
        warning = f"{path} has {found:,} bytes, not the official {expected:,}: " + (
            "the synthetic sample of `imagenet-pi fake-data`"
            if synthetic
            else "a subset, or incomplete (`imagenet-pi verify` checks it)"
        )
        warnings.append(warning)
        if log:
            logger.log(logging.INFO if synthetic else logging.WARNING, warning)
    return warnings


def record_synthetic_sample(tar_paths: Sequence[str]) -> None:
    """Records tars just written as a synthetic sample, beside them (`SYNTHETIC_SAMPLE_FILE`).

    A build from them then does not warn that they are not the official tars, as long as
    each keeps the size recorded.
    """
    (folder,) = {os.path.dirname(os.path.abspath(path)) for path in tar_paths}
    record = {
        "written_by": "imagenet_pi.fake_data",
        "tars": {os.path.basename(path): os.path.getsize(path) for path in tar_paths},
    }
    with open(os.path.join(folder, SYNTHETIC_SAMPLE_FILE), "w", encoding="utf-8") as file:
        json.dump(record, file, indent=1)


def _is_synthetic_sample(path: str, size: int) -> bool:
    """Whether the tar at `path`, of `size` bytes, is a synthetic sample's, as recorded."""
    record_path = os.path.join(os.path.dirname(os.path.abspath(path)), SYNTHETIC_SAMPLE_FILE)
    try:
        with open(record_path, encoding="utf-8") as file:
            tars = json.load(file)["tars"]
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one we wrote
        return False
    return isinstance(tars, dict) and tars.get(os.path.basename(path)) == size


def sha256(path: str, progress: bool = False) -> str:
    """The hex sha256 of a file, read in 8 MiB chunks (with a tqdm bar if `progress`)."""
    digest = hashlib.sha256()
    size = os.path.getsize(path)
    bar = None
    if progress:
        import tqdm

        bar = tqdm.tqdm(
            total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=os.path.basename(path)
        )
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of checking one tar."""

    path: str
    expected_sha256: str
    found_sha256: str

    @property
    def ok(self) -> bool:
        return self.expected_sha256 == self.found_sha256


def verify(
    paths: Mapping[str, str],
    progress: bool = False,
    raise_on_mismatch: bool = True,
    expected: Mapping[str, str] = upstream.ILSVRC_TAR_SHA256,
) -> list[Verdict]:
    """Checks the sha256 of each tar against the official one.

    Args:
      paths: official tar name (`upstream.TRAIN_TAR` or `upstream.VAL_TAR`) -> its path.
      progress: show a progress bar per file.
      raise_on_mismatch: raise `ChecksumError` naming every mismatch.
      expected: tar name -> hex sha256 (default: the official sums).

    Returns:
      One `Verdict` per tar, in the order of `paths`.
    """
    verdicts = [
        Verdict(path, expected[name], sha256(path, progress)) for name, path in paths.items()
    ]
    bad = [verdict for verdict in verdicts if not verdict.ok]
    if bad and raise_on_mismatch:
        raise ChecksumError(
            "; ".join(
                f"{v.path} has sha256 {v.found_sha256}, expected {v.expected_sha256}" for v in bad
            )
            + ". The archive is damaged or not the official ILSVRC2012 release: download it "
            "again from https://image-net.org/download-images."
        )
    for verdict in verdicts:
        if verdict.ok:
            logger.info("%s: sha256 matches the official archive.", verdict.path)
    return verdicts
