"""Odd ILSVRC2012 images, found by their content and re-encoded as RGB JPEG.

ILSVRC2012 train holds 22 CMYK JPEGs and one PNG behind a `.JPEG` name. TFDS's
image feature and most decoders expect an RGB or greyscale JPEG, so such images
are converted on the way in. They are found by content, never by a list of names:
a JPEG's frame header says how many colour components it has (4 means CMYK or
YCCK), and a PNG starts with its signature. Reading the frame header costs about 2
microseconds an image, against about 100 for `PIL.Image.open` and milliseconds for a
full decode (`benchmarks/image_fixes.py`), which matters over 1.28M images.

Odd images are decoded exactly (CMYK JPEGs with libjpeg's accurate integer IDCT,
the decode PIL gives; PNGs with TensorFlow, which also scales 16-bit PNGs right where
PIL clips them) and re-encoded as RGB JPEG at quality 100 WITHOUT chroma subsampling
(4:4:4). TFDS's `imagenet2012` converters use quality 100 with 4:2:0 subsampling,
which halves the colour resolution: on detailed images that moves pixels by up to
~150 levels from a decode of the original, where 4:4:4 stays within ~5
(`benchmarks/image_fixes.py`). The stored bytes therefore differ from TFDS's
`imagenet2012` for these images (dataset version 3.0.0).
"""

from __future__ import annotations

import collections
import io
import logging
from collections.abc import Iterator

import numpy as np

from imagenet_pi import errors

logger = logging.getLogger(__name__)

# Kinds of images, as counted in the build log.
CMYK = "cmyk"  # a JPEG with 4 colour components (CMYK or YCCK)
PNG = "png"
OTHER = "other"  # any other format PIL can read (GIF, BMP, TIFF, WebP, ...)
KIND_DESCRIPTIONS = {
    CMYK: "CMYK JPEG",
    PNG: "PNG",
    OTHER: "image in another format",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_SOS, _EOI = 0xDA, 0xD9  # start of scan (entropy-coded data follows), end of image
# Start-of-frame markers (baseline, progressive, lossless, arithmetic...): 0xC0-0xCF
# except DHT (0xC4), JPG (0xC8) and DAC (0xCC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7: no length
_JPEG_QUALITY = 100
_SUBSAMPLING_444 = 0  # PIL's code for no chroma subsampling: colours keep full resolution


class ImageError(errors.ImagenetPiError, ValueError):
    """Bytes that are not an image any decoder here can read."""


def _header_markers(image: bytes) -> Iterator[tuple[int, int]]:
    """`(position, marker)` of a JPEG's markers from after SOI to its first scan (SOS) or EOI.

    Stops early, quietly, where segment lengths do not add up or the bytes end.
    """
    position, end = 2, len(image)
    while position + 4 <= end:
        if image[position] != 0xFF:
            return  # not at a marker: the segment lengths do not add up
        marker = image[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        yield position, marker
        if marker in (_SOS, _EOI):
            return
        if marker in _STANDALONE_MARKERS:
            position += 2
        else:
            position += 2 + int.from_bytes(image[position + 2 : position + 4], "big")


def jpeg_components(image: bytes) -> int | None:
    """Colour components of a JPEG, read from its frame header (no decoding).

    Returns 1 (greyscale), 3 (YCbCr or RGB), 4 (CMYK or YCCK), or None when `image`
    is not a JPEG or ends before its frame header.
    """
    if not image.startswith(_JPEG_SOI):
        return None
    for position, marker in _header_markers(image):
        if marker in (_SOS, _EOI):  # a scan or the end before any frame
            return None
        if marker in _SOF_MARKERS:
            # FF Cn, length (2), precision (1), height (2), width (2), components (1).
            return image[position + 9] if position + 9 < len(image) else None
    return None


def check_complete_jpeg(image: bytes, where: str) -> None:
    """Refuses a JPEG cut short (an interrupted copy or download), before it is stored.

    A JPEG's scans end with its EOI marker (FF D9), which cannot occur inside the
    entropy-coded data; healthy files may have padding or other bytes after it. So a
    JPEG with an EOI after its first scan is taken as whole (a few microseconds); any
    other JPEG is decoded in full, as `tfds.load` would, and refused if that fails.
    Bytes that are not a JPEG are left to `image_kind`.

    Raises:
      ImageError: naming `where`, if a suspicious JPEG does not decode.
    """
    if not image.startswith(_JPEG_SOI):
        return
    scan = next((p for p, marker in _header_markers(image) if marker == _SOS), None)
    if scan is not None and image.rfind(_JPEG_EOI, scan) != -1:
        return
    import tensorflow as tf

    try:
        tf.io.decode_image(image, expand_animations=False)
    except (tf.errors.OpError, ValueError) as error:
        found = "no scan" if scan is None else "no end-of-image marker after its scans"
        raise ImageError(
            f"{where} is a JPEG cut short ({len(image)} bytes, {found}; TensorFlow cannot "
            f"decode it: {str(error).splitlines()[0][:200]}). The file was truncated, e.g. by "
            "an interrupted copy or download, or is damaged: extract or download the archive "
            "again."
        ) from None


def image_kind(image: bytes) -> str | None:
    """The odd kind of an encoded image (CMYK, PNG or OTHER), None for an RGB/greyscale JPEG.

    Only headers are read; OTHER includes bytes that are no image at all, which
    `to_rgb_jpeg` then reports.
    """
    components = jpeg_components(image)
    if components in (1, 3):
        return None
    if components == 4:
        return CMYK
    if image.startswith(_PNG_SIGNATURE):
        return PNG
    return OTHER


def to_rgb_jpeg(image: bytes, kind: str, where: str) -> bytes:
    """`image` re-encoded as an RGB JPEG (quality 100, no chroma subsampling).

    Args:
      image: encoded image of kind `kind` (as returned by `image_kind`).
      kind: CMYK, PNG or OTHER.
      where: the archive and member (or file) it came from, for the error message.

    Raises:
      ImageError: `image` cannot be decoded.
    """
    try:
        return encode_rgb_jpeg(decode_rgb(image, kind))
    except Exception as error:  # TF and PIL raise many types for undecodable bytes
        raise ImageError(
            f"{where} is not a readable image ({len(image)} bytes starting with "
            f"{image[:8]!r}; {type(error).__name__}: {str(error)[:200]}). Expected a JPEG "
            "(or a PNG): the archive or folder is damaged; download or extract it again."
        ) from error


def decode_rgb(image: bytes, kind: str) -> np.ndarray:
    """The `(height, width, 3) uint8` pixels of an odd image of kind `kind`."""
    if kind in (CMYK, PNG):
        import tensorflow as tf

        if kind == CMYK:
            # TF's default (fast) IDCT is off by up to ~7 levels; the accurate one equals PIL's.
            pixels = tf.io.decode_jpeg(image, channels=3, dct_method="INTEGER_ACCURATE")
        else:
            pixels = tf.io.decode_png(image, channels=3)  # palette, alpha, 16-bit handled
        return pixels.numpy()
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        return np.asarray(opened.convert("RGB"))


def encode_rgb_jpeg(pixels: np.ndarray) -> bytes:
    """`(height, width, 3) uint8` pixels as a JPEG at quality 100 with 4:4:4 chroma."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(
        buffer, format="JPEG", quality=_JPEG_QUALITY, subsampling=_SUBSAMPLING_444
    )
    return buffer.getvalue()


class ImageFixer:
    """Converts odd images to RGB JPEG and counts them by kind.

    Call it on every image; it returns ordinary JPEGs unchanged.
    """

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, image: bytes, where: str) -> bytes:
        kind = image_kind(image)
        if kind is None:
            return image
        fixed = to_rgb_jpeg(image, kind, where)
        self.counts[kind] += 1
        logger.debug("%s: converted a %s to RGB JPEG.", where, KIND_DESCRIPTIONS[kind])
        return fixed

    def summary(self) -> str:
        """E.g. '22 CMYK JPEG, 1 PNG converted to RGB JPEG' (or 'no odd images')."""
        if not self.counts:
            return "no odd images"
        parts = [f"{self.counts[kind]} {KIND_DESCRIPTIONS[kind]}" for kind in sorted(self.counts)]
        return ", ".join(parts) + " converted to RGB JPEG"

    def log(self, what: str) -> None:
        """Logs the counts for `what` (a split or a part of one)."""
        logger.info("%s: %s.", what, self.summary())
