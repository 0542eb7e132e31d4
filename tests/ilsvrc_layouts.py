"""One synthetic ILSVRC2012 sample in every layout the builder reads, for the tests of each.

The layouts: the tars, the extracted folders (validation flat or in synset folders), the
Kaggle copy, and an `imagenet2012` prepared by TFDS's own builder. The `layouts` fixture
(tests/conftest.py) writes them once a session; a test that breaks one copies it first.
"""

from __future__ import annotations

import os
import shutil

from imagenet_pi import fake_data, ilsvrc

# Odd images in both splits, so that every layout must convert them alike.
SAMPLE = {**fake_data.SMALL_SAMPLE, "num_cmyk": 1, "num_png": 1}
LAYOUTS = ("tars", *fake_data.FOLDER_LAYOUTS, "prepared")


def write_layouts(root: str | os.PathLike) -> dict[str, str]:
    """The sample as a manual_dir per layout, under `root`: layout -> manual_dir."""
    root = os.fspath(root)
    tars = os.path.join(root, "tars")
    sample = fake_data.write_sample(tars, configs=["high_noise"], **SAMPLE)
    manual_dirs = {"tars": tars}
    for layout in fake_data.FOLDER_LAYOUTS:
        manual_dirs[layout] = fake_data.extract_to_folders(
            sample, os.path.join(root, layout), layout
        )
    fake_data.prepare_imagenet2012(sample, os.path.join(root, "prepared"))
    manual_dirs["prepared"] = os.path.join(root, "prepared")
    return manual_dirs


def copy_layout(layouts, tmp_path, layout: str = "val_flat") -> str:
    """A copy of one layout's manual_dir, free to break."""
    manual_dir = str(tmp_path / "copy")
    shutil.copytree(layouts[layout], manual_dir)
    return manual_dir


def read_split(manual_dir: str, split: str) -> list[ilsvrc.ImageRecord]:
    """Every record of `split` of the layout in `manual_dir`, as a build reads them."""
    return list(ilsvrc.iter_split(ilsvrc.detect_layout(manual_dir), split))
