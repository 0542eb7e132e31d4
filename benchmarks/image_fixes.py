"""Benchmark: finding odd (CMYK, PNG) images by content, per image, on ImageNet-sized JPEGs.

Every one of the 1.28M images is checked, so the check must cost little beside
reading the ~110 kB from disk. Compared, on the same synthetic JPEGs (RGB, ~110 kB):

  header: `image_fixes.image_kind` (walks the JPEG markers to the frame header);
  pil:    `PIL.Image.open(...).mode` (PIL parses the headers lazily, no decode);
  decode: a full decode with TensorFlow (`tf.io.decode_jpeg`), what a check by
          decoding would cost.

    python benchmarks/image_fixes.py [--images 200]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from imagenet_pi import fake_data, image_fixes


def _per_image_us(fn, images: list[bytes], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for image in images:
            fn(image)
        best = min(best, time.perf_counter() - start)
    return best / len(images) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
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


if __name__ == "__main__":
    main()
