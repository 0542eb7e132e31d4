"""Benchmark: finding odd (CMYK, PNG) images by content, and how faithfully they are re-encoded.

Finding them: every one of the 1.28M images is checked, so the check must cost little beside
reading the ~110 kB from disk. Compared, on the same synthetic JPEGs (RGB, ~110 kB):

  header: `image_fixes.image_kind` (walks the JPEG markers to the frame header);
  pil:    `PIL.Image.open(...).mode` (PIL parses the headers lazily, no decode);
  decode: a full decode with TensorFlow (`tf.io.decode_jpeg`), what a check by
          decoding would cost.

Re-encoding them: CMYK JPEGs and PNGs of noisy and of photo-like images (flat colour
regions with sharp edges), converted by `image_fixes` (quality 100, 4:4:4) and by
TFDS's `imagenet2012` converters (`jpeg_cmyk_to_rgb`, `png_to_jpeg`: quality 100,
4:2:0); each compared pixel by pixel with a PIL decode of the original.

    python benchmarks/image_fixes.py [--images 200] [--fidelity-images 4]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from imagenet_pi import fake_data
from imagenet_pi.ilsvrc import image_fixes


def _per_image_us(fn, images: list[bytes], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for image in images:
            fn(image)
        best = min(best, time.perf_counter() - start)
    return best / len(images) * 1e6


def _photo_like(rng: np.random.Generator, height: int = 300, width: int = 400) -> np.ndarray:
    """`(height, width, 3) uint8`: 40 flat-coloured discs with sharp edges, mild noise."""
    rows, columns = np.mgrid[0:height, 0:width] / height
    pixels = np.full((height, width, 3), rng.integers(0, 256, size=3), np.float64)
    for _ in range(40):
        centre_row, centre_column = rng.uniform(0, 1), rng.uniform(0, width / height)
        radius = rng.uniform(0.02, 0.3)
        disc = (rows - centre_row) ** 2 + (columns - centre_column) ** 2 < radius**2
        pixels[disc] = rng.integers(0, 256, size=3)
    pixels += rng.normal(0, 6, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _noisy(rng: np.random.Generator) -> np.ndarray:
    return _pil_pixels(fake_data.encode_image(rng, 400))


def _pil_pixels(image: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        return np.asarray(opened.convert("RGB"), np.int64)


def _encode_odd(pixels: np.ndarray, kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    if kind == image_fixes.CMYK:
        Image.fromarray(pixels.astype(np.uint8)).convert("CMYK").save(buffer, "JPEG", quality=90)
    else:
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def fidelity(num_images: int) -> None:
    """Prints max / mean |pixel difference| from a PIL decode of the original, ours vs TFDS's."""
    import tensorflow_datasets as tfds

    tfds_converters = {
        image_fixes.CMYK: tfds.core.utils.jpeg_cmyk_to_rgb,
        image_fixes.PNG: tfds.core.utils.png_to_jpeg,
    }
    rng = np.random.default_rng(0)
    print(f"\nRe-encoding fidelity, {num_images} images each: |pixel - PIL decode of original|")
    print(f"{'images':<7} {'kind':<5} {'ours 4:4:4 max/mean':>20} {'TFDS 4:2:0 max/mean':>20}")
    for content, make in (("noisy", _noisy), ("photo", _photo_like)):
        for kind in (image_fixes.CMYK, image_fixes.PNG):
            ours, theirs = [], []
            for _ in range(num_images):
                original = _encode_odd(make(rng), kind)
                reference = _pil_pixels(original)
                converted = image_fixes.to_rgb_jpeg(original, kind, "benchmark")
                ours.append(np.abs(_pil_pixels(converted) - reference))
                theirs.append(np.abs(_pil_pixels(tfds_converters[kind](original)) - reference))
            print(
                f"{content:<7} {kind:<5} "
                f"{max(d.max() for d in ours):>11} / {np.mean([d.mean() for d in ours]):>5.2f} "
                f"{max(d.max() for d in theirs):>12} / {np.mean([d.mean() for d in theirs]):>5.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--fidelity-images", type=int, default=4)
    args = parser.parse_args()

    import tensorflow as tf
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [fake_data.encode_image(rng, 400) for _ in range(args.images)]
    mean_kb = np.mean([len(image) for image in images]) / 1e3
    assert all(image_fixes.image_kind(image) is None for image in images)

    def pil_mode(image: bytes) -> str:
        with Image.open(io.BytesIO(image)) as opened:
            return opened.mode

    results = {
        "header": _per_image_us(image_fixes.image_kind, images, repeats=5),
        "pil": _per_image_us(pil_mode, images, repeats=5),
        "decode": _per_image_us(lambda image: tf.io.decode_jpeg(image).shape, images, 2),
    }
    print(f"{args.images} RGB JPEGs of ~{mean_kb:.0f} kB; best of several runs\n")
    for name, us in results.items():
        print(f"{name:<7} {us:>9.1f} us/image   {us * 1.281167:>8.1f} s for 1.28M images")
    print(
        f"\nheader parse vs PIL.open: {results['pil'] / results['header']:.0f}x as fast; "
        f"vs full decode: {results['decode'] / results['header']:.0f}x as fast"
    )
    fidelity(args.fidelity_images)


if __name__ == "__main__":
    main()
