"""Benchmark: start-up of the PyTorch `ImageNetPI` against the upstream loader's CSV parsing.

In one run:

  ours:       `ImageNetPI(data_dir, split=...)` on a synthetic config built as array_record
              (median of several constructions, imports excluded), and the first example read.
  reference:  what the upstream `imagenet_pi_torch.ImageNetPI` does at start-up before it can
              return anything: read `labels/<split>.csv` and `confidences/<split>.csv` line by
              line into dicts of file name -> torch tensor (re-implemented here, same
              algorithm), on CSVs of the real validation size (50,000 rows, values printed as
              upstream prints them). The train figure (1,281,167 rows) is extrapolated per row.
              torchvision's scan of the extracted ImageNet folders, which upstream also does,
              is not counted.

Our start-up reads only the dataset's JSON metadata, so it does not grow with the number of
examples; the build here is small to keep the run short.

    python benchmarks/torch_startup.py
    python benchmarks/torch_startup.py --rows 5000      # quicker reference
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

_IMPORT_START = time.perf_counter()
import torch  # noqa: E402

_TORCH_IMPORTED = time.perf_counter()
import tensorflow_datasets as tfds  # noqa: E402

from imagenet_pi import annotations, fake_data, upstream  # noqa: E402
from imagenet_pi.torch_dataset import ImageNetPI  # noqa: E402

_MODULE_IMPORTED = time.perf_counter()
CONFIG = "high_noise"


def build_sample(workdir: str) -> str:
    """A small `imagenet_pi/high_noise` built as array_record in `<workdir>/data`."""
    manual_dir = os.path.join(workdir, "manual")
    data_dir = os.path.join(workdir, "data")
    fake_data.write_sample(
        manual_dir,
        configs=[CONFIG],
        num_synsets=10,
        images_per_synset=10,
        num_validation=100,
        image_size=64,
    )
    builder = tfds.builder(f"imagenet_pi/{CONFIG}", data_dir=data_dir, file_format="array_record")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return data_dir


def write_reference_csvs(workdir: str, rows: int) -> str:
    """`labels/validation.csv` and `confidences/validation.csv` of `rows` random rows."""
    rng = np.random.default_rng(0)
    config_dir = os.path.join(workdir, "csv", CONFIG)
    annotations.write_split(
        config_dir,
        "validation",
        [f"ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(rows)],
        rng.integers(0, upstream.NUM_CLASSES, size=(rows, upstream.NUM_ANNOTATORS)),
        rng.random((rows, upstream.NUM_ANNOTATORS)),
    )
    return config_dir


def upstream_style_parse(csv_path: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The upstream start-up algorithm: one tensor a line, keyed by file name."""
    values_by_name = {}
    with open(csv_path) as lines:
        for line in lines:
            name, *values = line.strip().split(",")
            values_by_name[name] = torch.tensor([float(v) for v in values], dtype=dtype)
    return values_by_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=upstream.NUM_EXAMPLES["validation"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", help="kept when given; a temporary folder otherwise")
    args = parser.parse_args()
    tfds.disable_progress_bar()

    with tempfile.TemporaryDirectory(prefix="imagenet_pi_torch_bench_") as tmp:
        workdir = args.workdir or tmp
        data_dir = build_sample(workdir)
        config_dir = write_reference_csvs(workdir, args.rows)

        constructions = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            dataset = ImageNetPI(data_dir, split="validation", config=CONFIG)
            constructions.append(time.perf_counter() - start)
        start = time.perf_counter()
        dataset[0]
        first_example = time.perf_counter() - start

        start = time.perf_counter()
        labels = upstream_style_parse(
            os.path.join(config_dir, upstream.csv_relpath("labels", "validation")), torch.int32
        )
        confidences = upstream_style_parse(
            os.path.join(config_dir, upstream.csv_relpath("confidences", "validation")),
            torch.float32,
        )
        reference = time.perf_counter() - start
        assert len(labels) == len(confidences) == args.rows

    per_row = reference / args.rows
    train_rows = upstream.NUM_EXAMPLES["train"]
    print(f"imports: torch {_TORCH_IMPORTED - _IMPORT_START:.2f} s, then tensorflow_datasets + "
          f"imagenet_pi.torch_dataset {_MODULE_IMPORTED - _TORCH_IMPORTED:.2f} s")  # fmt: skip
    print(f"ours       ImageNetPI(split='validation'): {statistics.median(constructions):.4f} s "
          f"(median of {args.repeats}; min {min(constructions):.4f} s, max "
          f"{max(constructions):.4f} s)")  # fmt: skip
    print(f"ours       first example (opens the reader, decodes a JPEG): {first_example:.4f} s")
    print(f"reference  upstream-style CSV parse, {args.rows:,} rows (validation): "
          f"{reference:.2f} s measured")  # fmt: skip
    print(f"reference  same for train, {train_rows:,} rows: {per_row * train_rows:.0f} s "
          "extrapolated per row")  # fmt: skip


if __name__ == "__main__":
    main()
