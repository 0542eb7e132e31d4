"""The synthetic sample generator refuses sizes it cannot honour, naming the argument."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from imagenet_pi import fake_data

_SAMPLE = dict(num_synsets=2, images_per_synset=2, num_validation=3, image_size=8)

_BAD = [
    ("num_synsets", 0, "an integer in 1..1000"),
    ("num_synsets", 1001, "an integer in 1..1000"),
    ("images_per_synset", 0, "an integer in 1..20000"),
    ("images_per_synset", -1, "an integer in 1..20000"),
    ("images_per_synset", 20_001, "an integer in 1..20000"),
    ("images_per_synset", 2.0, "an integer in 1..20000"),
    ("num_validation", -1, "an integer in 1..50000"),
    ("num_validation", 0, "an integer in 1..50000"),
    ("num_validation", 50_001, "an integer in 1..50000"),
    ("image_size", 0, "an integer in 2..4096"),
    ("image_size", 1, "an integer in 2..4096"),
    ("image_size", -8, "an integer in 2..4096"),
    ("image_size", True, "an integer in 2..4096"),
    ("num_cmyk", -1, "an integer >= 0"),
    ("num_png", -1, "an integer >= 0"),
    ("seed", -1, "an integer >= 0"),
]


@pytest.mark.parametrize("argument, value, valid", _BAD, ids=[f"{a}={v}" for a, v, _ in _BAD])
def test_size_out_of_range_names_the_argument_and_range(argument, value, valid, tmp_path):
    with pytest.raises(ValueError) as error:
        fake_data.write_sample(tmp_path / "manual", **{**_SAMPLE, argument: value})
    assert str(error.value) == f"{argument}: expected {valid}, found {value!r}"
    assert not (tmp_path / "manual").exists()


def test_more_odd_images_than_the_smaller_split_holds_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"num_cmyk \+ num_png: expected at most 3 .* found 4"):
        fake_data.write_ilsvrc_tars(tmp_path, **_SAMPLE, num_cmyk=2, num_png=2)


def test_output_folder_that_is_a_file_is_refused(tmp_path):
    existing = tmp_path / "a_file"
    existing.write_text("")
    with pytest.raises(
        ValueError, match=f"out_dir: expected a folder .*, found a file: {existing}"
    ):
        fake_data.write_sample(existing, **_SAMPLE)


def test_unknown_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"configs: expected names among .*'high_noise'.*'x'"):
        fake_data.write_sample(tmp_path, configs=["x"], **_SAMPLE)


def test_encode_image_refuses_sizes_without_pixels():
    with pytest.raises(ValueError, match=r"image_size: expected an integer in 2..4096, found 1"):
        fake_data.encode_image(np.random.default_rng(0), 1)


def test_encode_image_refuses_a_quality_off_the_jpeg_scale():
    with pytest.raises(ValueError, match=r"quality: expected an integer in 0..100, found 101"):
        fake_data.encode_image(np.random.default_rng(0), 8, quality=101)


def test_smallest_sizes_give_a_decodable_sample(tmp_path):
    sample = fake_data.write_sample(
        tmp_path, num_synsets=1, images_per_synset=1, num_validation=1, image_size=2, num_png=1
    )
    with tarfile.open(sample.val_tar) as tar:
        (member,) = tar.getmembers()
        image = Image.open(io.BytesIO(tar.extractfile(member).read()))
        assert min(image.size) >= 1
    assert sample.odd_images == {
        sample.train_file_names[0]: "png",
        sample.validation_file_names[0]: "png",
    }
