"""The flags of `imagenet-pi`: argparse types that check ranges, and flags commands share.

Every numeric and folder flag is checked by argparse, so that a bad value is one usage line
(exit 2) naming the flag, the valid range and what was given.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from imagenet_pi import fake_data, upstream


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: an integer in low..high (no upper bound if None)."""
    valid = fake_data.int_range(low, high)  # the same words as the Python API's checks

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {valid}, found {text!r}")
        return value

    return parse


def float_in(low: float, high: float = math.inf, *, low_open: bool) -> Callable[[str], float]:
    """An argparse `type`: a finite number in (low, high] (or [low, high] if not low_open)."""
    if high < math.inf:
        valid = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    else:
        valid = f"a finite number {'>' if low_open else '>='} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            raise argparse.ArgumentTypeError(f"expected {valid}, found {text!r}")
        return value

    return parse


def folder_to_write(text: str) -> str:
    """An argparse `type`: a folder, or a path where one can be made (not a file)."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"expected a folder to write into (or a path to create one at), found a file: {text}"
        )
    return text


def add_sample_flags(
    parser: argparse.ArgumentParser, *, synsets: int, images: int, val: int, odd: int = 0
) -> None:
    """Adds the flags of a synthetic sample (`fake_data.write_sample`) with these defaults."""
    parser.add_argument(
        "--synsets",
        type=int_in(1, upstream.NUM_CLASSES),
        default=synsets,
        help=f"number of train synsets (1..{upstream.NUM_CLASSES})",
    )
    parser.add_argument(
        "--images-per-synset",
        type=int_in(1, fake_data.MAX_IMAGES_PER_SYNSET),
        default=images,
        help=f"train images per synset (1..{fake_data.MAX_IMAGES_PER_SYNSET})",
    )
    parser.add_argument(
        "--validation",
        type=int_in(1, fake_data.MAX_VALIDATION),
        default=val,
        help=f"validation images (1..{fake_data.MAX_VALIDATION})",
    )
    parser.add_argument(
        "--image-size",
        type=int_in(fake_data.MIN_IMAGE_SIZE, fake_data.MAX_IMAGE_SIZE),
        default=64,
        help=f"image side in pixels ({fake_data.MIN_IMAGE_SIZE}..{fake_data.MAX_IMAGE_SIZE})",
    )
    parser.add_argument("--cmyk", type=int_in(0), default=odd, help="CMYK JPEGs per split (>= 0)")
    parser.add_argument(
        "--png", type=int_in(0), default=odd, help="PNGs named .JPEG per split (>= 0)"
    )
    parser.add_argument("--seed", type=int_in(0), default=0, help="random seed (>= 0)")
    parser.set_defaults(check_flags=_check_odd_images)


def _check_odd_images(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits with a usage error if the odd images do not fit in the smaller split."""
    # The first images of each split are the odd ones: both splits must have that many.
    smaller_split = min(args.synsets * args.images_per_synset, args.validation)
    if args.cmyk + args.png > smaller_split:
        parser.error(
            f"argument --cmyk/--png: expected at most {smaller_split} odd images a split "
            f"together (the images of the smaller split), found {args.cmyk + args.png}"
        )


def sample_kwargs(args: argparse.Namespace) -> dict:
    """The keyword arguments of `fake_data.write_sample` that the sample flags give."""
    return dict(
        num_synsets=args.synsets,
        images_per_synset=args.images_per_synset,
        num_validation=args.validation,
        image_size=args.image_size,
        num_cmyk=args.cmyk,
        num_png=args.png,
        seed=args.seed,
    )
