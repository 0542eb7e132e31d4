"""Builds of imagenet_pi in the test process for the tests of build identity, and what they
hold; shared by tests/test_build_identity.py and tests/end_to_end/test_build_identity.py."""

from __future__ import annotations

import tensorflow_datasets as tfds
from relabel_inputs import write_predictions

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import cli, fake_data, upstream

NAME = "imagenet_pi/high_noise"


def prepare(builder, manual_dir: str | None, **download_config) -> None:
    """`download_and_prepare` of `builder` from `manual_dir`."""
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, **download_config)
    )


def build(data_dir, manual_dir: str | None, *, config=None, **download_config):
    """`download_and_prepare` of high_noise (or of `config`) into `data_dir`; the builder."""
    if config is None:
        builder = tfds.builder(NAME, data_dir=str(data_dir))
    else:
        builder = tfds.builder("imagenet_pi", config=config, data_dir=str(data_dir))
    prepare(builder, manual_dir, **download_config)
    return builder


def sizes(name: str, data_dir) -> dict[str, int]:
    """split -> examples of the build of `name` in `data_dir`."""
    info = tfds.builder(name, data_dir=str(data_dir)).info
    return {split: info.splits[split].num_examples for split in upstream.SPLITS}


def labels(name: str, data_dir, split: str = "validation") -> dict[str, list[int]]:
    """file name -> annotator labels of a built split."""
    builder = tfds.builder(name, data_dir=str(data_dir))
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    return {
        example["file_name"].decode(): example["annotator_labels"].tolist()
        for example in tfds.as_numpy(dataset)
    }


def full_sizes() -> dict[str, int]:
    """split -> examples of the small sample."""
    sample = fake_data.SMALL_SAMPLE
    return {
        "train": sample["num_synsets"] * sample["images_per_synset"],
        "validation": sample["num_validation"],
    }


def relabel_twice(root) -> tuple[str, str, str]:
    """`imagenet-pi relabel --beta 0.3` at seeds 0 and 1: (manual_dir, folder A, folder B)."""
    manual_dir = str(root / "manual")
    sample = fake_data.write_sample(manual_dir, configs=[], **fake_data.SMALL_SAMPLE)
    write_predictions(str(root / "predictions"), sample)
    folders = []
    for seed in (0, 1):
        out = str(root / f"seed_{seed}")
        argv = ["relabel", "--predictions", str(root / "predictions"), "--beta", "0.3"]
        assert cli.main([*argv, "--seed", str(seed), "--out", out, "--no-progress"]) == 0
        folders.append(out)
    return manual_dir, *folders
