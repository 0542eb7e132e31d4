"""Which layout of ILSVRC2012 the manual_dir holds, and reading a split of it.

Four layouts are read (`LAYOUT_KINDS`, in priority order): an `imagenet2012` that TFDS
already prepared, the original tars, the extracted folders, and the Kaggle copy.
`detect_layout` picks the first complete one, says which others were there, and for
the tars checks their sizes (and, if asked, their sha256) first. A layout cuts each
split into parts (`records.Part`) that can be read on their own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from imagenet_pi import upstream
from imagenet_pi.ilsvrc import image_fixes, prepared, records, verification
from imagenet_pi.ilsvrc.folders import FolderLayout
from imagenet_pi.ilsvrc.records import IlsvrcError, ImageRecord, Part
from imagenet_pi.ilsvrc.tars import TarLayout

logger = logging.getLogger(__name__)

KAGGLE_ROOT = os.path.join("ILSVRC", "Data", "CLS-LOC")


class Layout(Protocol):
    """ILSVRC2012 in one of the layouts people hold it in, found in a manual_dir."""

    description: str  # what was found and where, for logs and error messages

    def parts(self, split: str) -> Sequence[Part]: ...

    def location(self, split: str) -> str:
        """The archive or folder that holds `split`, for error messages."""
        ...


def iter_split(layout: Layout, split: str) -> Iterator[ImageRecord]:
    """Every image of `split`, part after part; logs the odd images converted at the end."""
    fixer = image_fixes.ImageFixer()
    for part in layout.parts(split):
        yield from part.read(fixer)
    fixer.log(f"ILSVRC2012 {split} ({layout.location(split)})")


@dataclasses.dataclass(frozen=True)
class LayoutKind:
    """One way of holding ILSVRC2012 in the manual_dir: how to find it and open it."""

    name: str
    expected: Callable[[str], list[str]]  # manual_dir -> the paths this layout needs
    load: Callable[[str], Layout]  # manual_dir -> the layout (all expected paths exist)
    note: str = ""  # shown after the paths when nothing is found


def _tar_paths(manual_dir: str) -> list[str]:
    return [
        os.path.join(manual_dir, upstream.TRAIN_TAR),
        os.path.join(manual_dir, upstream.VAL_TAR),
    ]


def _prepared_paths(manual_dir: str) -> list[str]:
    # A version folder with its dataset_info.json is the layout; which version is read, and
    # whether it is complete, is for `prepared.prepared_imagenet2012`.
    found = prepared.prepared_version_dirs(manual_dir)
    if found:
        return [os.path.join(found[0], "dataset_info.json")]
    return [os.path.join(manual_dir, prepared.IMAGENET2012, "<version>", "dataset_info.json")]


def _folder_paths(root: str) -> list[str]:
    return [os.path.join(root, "train") + os.sep, os.path.join(root, "val") + os.sep]


def _load_tars(manual_dir: str) -> TarLayout:
    layout = TarLayout.in_dir(manual_dir)
    verification.size_warnings(layout.official_names())
    return layout


def _verify_tars(layout: TarLayout) -> None:
    logger.info("Checking the sha256 of both tars (verify_archives).")
    try:
        verification.verify(layout.official_names(), progress=True)
    except verification.ChecksumError as error:
        raise IlsvrcError(str(error)) from error


def _load_folders(root: str, kind: str) -> FolderLayout:
    return FolderLayout(os.path.join(root, "train"), os.path.join(root, "val"), kind)


# In priority order: the first complete layout wins. A prepared imagenet2012 is only
# there if the user placed it on purpose, and it skips parsing the tars; the tars
# are the original release (the only layout that can be checked against official sums);
# extracted folders before the Kaggle copy, whose root is deeper.
LAYOUT_KINDS = (
    LayoutKind(
        "TFDS-prepared imagenet2012",
        _prepared_paths,
        prepared.prepared_imagenet2012,
        "the version folder of a `tfds build imagenet2012`, copied or linked",
    ),
    LayoutKind(
        "ILSVRC2012 tars",
        _tar_paths,
        _load_tars,
        "as downloaded from https://image-net.org/download-images, unextracted",
    ),
    LayoutKind(
        "extracted folders",
        _folder_paths,
        lambda manual_dir: _load_folders(manual_dir, "extracted folders"),
        "train/<synset>/*.JPEG, and val/*.JPEG or val/<synset>/*.JPEG",
    ),
    LayoutKind(
        "Kaggle layout",
        lambda manual_dir: _folder_paths(os.path.join(manual_dir, KAGGLE_ROOT)),
        lambda manual_dir: _load_folders(os.path.join(manual_dir, KAGGLE_ROOT), "Kaggle layout"),
        "the Kaggle copy, unzipped in the manual_dir",
    ),
)


def _exists(path: str) -> bool:
    return os.path.isdir(path) if path.endswith(os.sep) else os.path.isfile(path)


def detect_layout(manual_dir: str | os.PathLike, verify_archives: bool = False) -> Layout:
    """The ILSVRC2012 layout in `manual_dir`: the first complete one of `LAYOUT_KINDS`.

    Logs which layout was picked and which others were also (partly) there. For the
    tars, warns when their sizes differ from the official ones and, if `verify_archives`
    (the config's, or `IMAGENET_PI_VERIFY_ARCHIVES`: `verification.verify_archives`),
    checks their sha256 first.

    Raises:
      IlsvrcError: no layout is complete; the message lists every layout with the
        paths it needs, and which of them were found.
    """
    manual_dir = os.fspath(manual_dir)
    complete, partial = [], []
    for kind in LAYOUT_KINDS:
        found = [_exists(path) for path in kind.expected(manual_dir)]
        if all(found):
            complete.append(kind.name)
        elif any(found):
            partial.append(f"{kind.name} (incomplete)")
    if complete:
        picked = next(kind for kind in LAYOUT_KINDS if kind.name == complete[0])
        layout = picked.load(manual_dir)
        if verify_archives and isinstance(layout, TarLayout):
            _verify_tars(layout)
        elif verify_archives:
            logger.warning(
                "Checking the sha256 of the archives was asked for (verify_archives or %s), "
                "but %s has no official checksums: nothing was verified.",
                verification.VERIFY_ENV_VAR,
                layout.description,
            )
        ignored = complete[1:] + partial
        if ignored:
            priority = ", ".join(kind.name for kind in LAYOUT_KINDS)
            logger.info(
                "Reading %s; also there, ignored: %s (priority: %s).",
                layout.description,
                ", ".join(ignored),
                priority,
            )
        else:
            logger.info("Reading %s.", layout.description)
        return layout
    lines = [f"No ILSVRC2012 found in {manual_dir}. Looked for, in this order:"]
    for number, kind in enumerate(LAYOUT_KINDS, 1):
        paths = kind.expected(manual_dir)
        states = [f"{path} ({'found' if _exists(path) else 'missing'})" for path in paths]
        note = f", {kind.note}" if kind.note else ""
        lines.append(f"  {number}. {kind.name}: {' and '.join(states)}{note}")
    lines.append(
        "Put one of these in place (see 'Getting ILSVRC2012 into place', docs/ilsvrc2012.md "
        "in the imagenet_pi docs). " + records.MANUAL_DOWNLOAD_HINT
    )
    raise IlsvrcError("\n".join(lines))
