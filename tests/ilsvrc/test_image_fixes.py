"""Odd images are found by content, converted to RGB JPEG, counted, and garbage is an error;
JPEGs cut short are refused, whole ones kept byte for byte."""

from __future__ import annotations

import io
import logging

import damaged_inputs
import in_process_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image, JpegImagePlugin

from imagenet_pi import fake_data, ilsvrc
from imagenet_pi.ilsvrc import folders, image_fixes


def _encode(pixels: np.ndarray, mode: str, image_format: str, **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=image_format, **save_kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """A smooth `(24, 32, 3) uint8` image: JPEG round trips stay close to it."""
    rows = np.linspace(40, 200, 24)[:, None]
    columns = np.linspace(30, 220, 32)[None, :]
    return np.stack([rows + 0 * columns, 0 * rows + columns, (rows + columns) / 2], -1).astype(
        np.uint8
    )


def _decoded(image: bytes) -> Image.Image:
    return Image.open(io.BytesIO(image))


@pytest.mark.parametrize(
    ("mode", "save_kwargs", "components"),
    [
        ("RGB", {}, 3),
        ("L", {}, 1),
        ("CMYK", {}, 4),
        ("RGB", {"progressive": True}, 3),
        ("CMYK", {"progressive": True}, 4),
    ],
)
def test_jpeg_components_read_from_frame_header(pixels, mode, save_kwargs, components):
    image = _encode(pixels, mode, "JPEG", **save_kwargs)
    assert image_fixes.jpeg_components(image) == components


def test_jpeg_components_skip_exif_and_icc_segments(pixels):
    exif = Image.Exif()
    exif[0x010E] = "x" * 3000  # ImageDescription: a long APP1 segment before the frame
    image = _encode(pixels, "CMYK", "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 5000)
    assert image_fixes.jpeg_components(image) == 4


def test_jpeg_components_of_non_jpeg_and_truncated_header_is_none(pixels):
    assert image_fixes.jpeg_components(_encode(pixels, "RGB", "PNG")) is None
    assert image_fixes.jpeg_components(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None
    assert image_fixes.jpeg_components(b"garbage") is None


@pytest.mark.parametrize(
    ("mode", "image_format", "kind"),
    [
        ("RGB", "JPEG", None),
        ("L", "JPEG", None),
        ("CMYK", "JPEG", image_fixes.CMYK),
        ("RGB", "PNG", image_fixes.PNG),
        ("RGBA", "PNG", image_fixes.PNG),
        ("RGB", "BMP", image_fixes.OTHER),
        ("RGB", "GIF", image_fixes.OTHER),
    ],
)
def test_image_kind_by_content(pixels, mode, image_format, kind):
    assert image_fixes.image_kind(_encode(pixels, mode, image_format)) == kind


@pytest.mark.parametrize(
    ("mode", "image_format", "tolerance"),
    [
        ("CMYK", "JPEG", 6),
        ("RGB", "PNG", 3),
        ("RGBA", "PNG", 3),
        ("RGB", "BMP", 3),
        ("P", "GIF", 12),
    ],
)
def test_odd_images_become_rgb_jpegs_of_the_same_picture(pixels, mode, image_format, tolerance):
    odd = _encode(pixels, mode, image_format)
    fixer = image_fixes.ImageFixer()
    fixed = fixer(odd, "somewhere")
    decoded = _decoded(fixed)
    assert decoded.format == "JPEG" and decoded.mode == "RGB"
    assert image_fixes.image_kind(fixed) is None
    reference = np.asarray(_decoded(odd).convert("RGB"), np.float64)
    assert np.abs(np.asarray(decoded, np.float64) - reference).mean() < tolerance
    assert sum(fixer.counts.values()) == 1


@pytest.fixture(scope="module")
def detailed() -> np.ndarray:
    """A `(48, 64, 3) uint8` image of saturated 2x2-pixel colour blocks: detail in the colours.

    Chroma subsampling (4:2:0) averages colours over 2x2 pixels and moves such pixels
    by 100+ levels; a re-encode that keeps full colour resolution stays within a few.
    """
    blocks = np.random.default_rng(0).integers(0, 2, size=(24, 32, 3)) * 255
    return np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1).astype(np.uint8)


@pytest.mark.parametrize(("mode", "image_format"), [("CMYK", "JPEG"), ("RGB", "PNG")])
def test_odd_images_keep_their_colours(detailed, mode, image_format):
    odd = _encode(detailed, mode, image_format)
    fixed = image_fixes.ImageFixer()(odd, "somewhere")
    reference = np.asarray(_decoded(odd).convert("RGB"), np.int64)
    difference = np.abs(np.asarray(_decoded(fixed), np.int64) - reference)
    assert difference.max() <= 6 and difference.mean() < 1.5, (difference.max(), difference.mean())
    assert JpegImagePlugin.get_sampling(_decoded(fixed)) == 0  # 4:4:4


def test_sixteen_bit_png_is_scaled_not_clipped():
    levels = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    png = io.BytesIO()
    Image.fromarray(levels).save(png, format="PNG")
    fixed = image_fixes.ImageFixer()(png.getvalue(), "somewhere")
    pixels = np.asarray(_decoded(fixed), np.int64)
    expected = np.round(levels / 257.0)[..., None]
    assert np.abs(pixels - expected).max() <= 3


def test_ordinary_and_greyscale_jpegs_pass_unchanged(pixels):
    fixer = image_fixes.ImageFixer()
    for mode in ("RGB", "L"):
        image = _encode(pixels, mode, "JPEG")
        assert fixer(image, "somewhere") is image
    assert not fixer.counts
    assert fixer.summary() == "no odd images"


@pytest.mark.parametrize("garbage", [b"not an image at all", b"\xff\xd8\xff\xe0garbage", b"\0"])
def test_garbage_bytes_name_where_they_came_from(garbage):
    with pytest.raises(image_fixes.ImageError, match=r"archive\.tar: member 'x\.JPEG'"):
        image_fixes.ImageFixer()(garbage, "archive.tar: member 'x.JPEG'")


def test_truncated_png_is_an_error(pixels):
    png = _encode(pixels, "RGB", "PNG")
    with pytest.raises(image_fixes.ImageError, match="not a readable image"):
        image_fixes.ImageFixer()(png[: len(png) // 2], "f.JPEG")


def test_summary_counts_each_kind(pixels):
    fixer = image_fixes.ImageFixer()
    for _ in range(2):
        fixer(_encode(pixels, "CMYK", "JPEG"), "a")
    fixer(_encode(pixels, "RGB", "PNG"), "b")
    assert fixer.counts == {"cmyk": 2, "png": 1}
    assert fixer.summary() == "2 CMYK JPEG, 1 PNG converted to RGB JPEG"


@pytest.fixture(scope="module")
def odd_sample(tmp_path_factory):
    """Tars whose train and validation splits each hold 2 CMYK JPEGs and 1 PNG."""
    manual_dir = str(tmp_path_factory.mktemp("odd"))
    kwargs = {**fake_data.SMALL_SAMPLE, "num_cmyk": 2, "num_png": 1}
    return manual_dir, fake_data.write_ilsvrc_tars(manual_dir, **kwargs)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_split_reads_convert_odd_images_to_rgb_jpegs(odd_sample, split):
    manual_dir, sample = odd_sample
    records = list(ilsvrc.iter_split(ilsvrc.TarLayout.in_dir(manual_dir), split))
    assert len([r for r in records if r.file_name in sample.odd_images]) == 3
    for record in records:
        assert _decoded(record.image).mode in ("RGB", "L")
        assert image_fixes.image_kind(record.image) is None


@pytest.mark.parametrize("split", ["train", "validation"])
def test_split_reads_log_their_counts_of_converted_images(odd_sample, split, caplog):
    manual_dir, sample = odd_sample
    assert len(sample.odd_images) == 6  # 2 CMYK JPEGs and 1 PNG a split
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        list(ilsvrc.iter_split(ilsvrc.TarLayout.in_dir(manual_dir), split))
    assert f"ILSVRC2012 {split}" in caplog.text
    assert "2 CMYK JPEG, 1 PNG converted to RGB JPEG" in caplog.text


def test_part_read_alone_logs_its_own_counts(odd_sample, caplog):
    # How a Beam worker, which reads parts without a split-wide fixer, reports them.
    manual_dir, sample = odd_sample
    part = ilsvrc.TarLayout.in_dir(manual_dir).parts("train")[0]
    with caplog.at_level(logging.INFO, logger="imagenet_pi"):
        records = list(part.read())
    num_odd = sum(r.file_name in sample.odd_images for r in records)
    assert num_odd == 3  # the first synset holds the first 3 images
    assert "member 'n01440764.tar': 2 CMYK JPEG, 1 PNG converted" in caplog.text


def test_odd_images_found_by_content_not_by_name(tmp_path, pixels):
    # A CMYK JPEG under an ordinary name and an RGB JPEG under the name of a real CMYK one.
    folder = tmp_path / "n01440764"
    folder.mkdir()
    (folder / "n01440764_10026.JPEG").write_bytes(_encode(pixels, "CMYK", "JPEG"))
    real_cmyk_name = tmp_path / "n01739381"
    real_cmyk_name.mkdir()
    rgb = _encode(pixels, "RGB", "JPEG")
    (real_cmyk_name / "n01739381_1309.JPEG").write_bytes(rgb)
    fixer = image_fixes.ImageFixer()
    (converted,) = folders.SynsetFolderPart(str(folder)).read(fixer)
    (unchanged,) = folders.SynsetFolderPart(str(real_cmyk_name)).read(fixer)
    assert _decoded(converted.image).mode == "RGB"
    assert unchanged.image == rgb
    assert fixer.counts == {"cmyk": 1}


# JPEGs cut short.


def _with_thumbnail(image: bytes, thumbnail: bytes) -> tuple[bytes, int]:
    """`image` with an EXIF-like APP1 segment holding `thumbnail` (its own scan and EOI).

    Returns the new bytes and where the APP1 segment ends.
    """
    payload = b"Exif\x00\x00" + thumbnail
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return image[:2] + app1 + image[2:], 2 + len(app1)


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_jpeg_cut_short_fails_the_build_naming_the_member(fresh_sample, tmp_path, keep):
    manual_dir, _ = fresh_sample
    image = damaged_inputs.first_train_image(manual_dir)
    cut = image[: int(len(image) * keep)]
    synset_tar, name = damaged_inputs.replace_train_image(manual_dir, cut)
    data_dir = str(tmp_path / "data")
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short") as error:
        in_process_builds.build(manual_dir, data_dir)
    assert f"member {synset_tar!r}, image {name!r}" in str(error.value)
    assert not tfds.builder("imagenet_pi/high_noise", data_dir=data_dir).is_prepared()


def test_jpeg_cut_short_and_zero_padded_is_an_error(fresh_sample):
    manual_dir, _ = fresh_sample
    image = damaged_inputs.first_train_image(manual_dir)
    padded = image[: len(image) // 2] + bytes(len(image) // 2)
    damaged_inputs.replace_train_image(manual_dir, padded)
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short"):
        damaged_inputs.read_tars(manual_dir)


def test_bytes_after_the_end_of_image_marker_are_kept_as_they_are(fresh_sample):
    manual_dir, _ = fresh_sample
    padded = damaged_inputs.first_train_image(manual_dir) + bytes(300) + b"trailing data"
    _, name = damaged_inputs.replace_train_image(manual_dir, padded)
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    images = {record.file_name: record.image for record in ilsvrc.iter_split(layout, "train")}
    assert images[name] == padded


@pytest.mark.parametrize("cut", ["after the thumbnail", "in the scan"])
def test_jpeg_cut_short_is_found_despite_the_end_marker_of_an_embedded_thumbnail(fresh_sample, cut):
    # Camera JPEGs carry a thumbnail with its own end-of-image marker: only one after the
    # image's own scan shows that the image is whole.
    manual_dir, _ = fresh_sample
    image = damaged_inputs.first_train_image(manual_dir)
    thumbnail = fake_data.encode_image(np.random.default_rng(1), 16)
    whole, app1_end = _with_thumbnail(image, thumbnail)
    stop = app1_end if cut == "after the thumbnail" else app1_end + (len(image) - 2) // 2
    damaged_inputs.replace_train_image(manual_dir, whole[:stop])
    with pytest.raises(ilsvrc.IlsvrcError, match="is a JPEG cut short"):
        damaged_inputs.read_tars(manual_dir)


def test_whole_jpeg_with_an_embedded_thumbnail_is_kept(fresh_sample):
    manual_dir, _ = fresh_sample
    thumbnail = fake_data.encode_image(np.random.default_rng(1), 16)
    whole, _ = _with_thumbnail(damaged_inputs.first_train_image(manual_dir), thumbnail)
    _, name = damaged_inputs.replace_train_image(manual_dir, whole)
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    images = {record.file_name: record.image for record in ilsvrc.iter_split(layout, "train")}
    assert images[name] == whole
