"""Training throughput of `imagenet_pi.input_pipeline` beside a minimal tf.data baseline.

Builds (once, into benchmarks/_work/) a synthetic ImageNet-PI train split with
ImageNet-like JPEGs (~400 px) in both TFRecord and array_record, then measures
images/s of training batches for:

- baseline: tf.data, decode_jpeg + resize to 224 + batch (no crop, no flip, no
  normalisation, no PI, no labels);
- tfdata / grain: `make_iterator(..., train=True)` with everything included (random
  resized crop, flip, normalisation, label policy, all four PI features with one-hot
  annotator labels, device axis).

grain reads whole batches of records at random from array_record files (which
the builder writes uncompressed) in its threads; one long-lived tf.data pipeline
decodes them, as the tfdata back end does.

Runs are interleaved over several rounds, each round starting with a different
pipeline, with a pause between runs (the machine may be shared). Reported: the
median images/s of each pipeline, the median of the rounds' ratios to the baseline
(rounds pair runs made within seconds of each other, so a drift of the machine's
speed cancels out) with their range, and the CPU time per image (less disturbed by
other programs than wall time).

    python benchmarks/input_pipeline.py [--batch-size 128] [--batches 20] [--rounds 5]
        [--grain-threads 2] [--grain-workers 0]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import fake_data, input_pipeline

_WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_work")
_NAME = "imagenet_pi/high_noise"
_SAMPLE = dict(num_synsets=20, images_per_synset=150, num_validation=200, image_size=400)


def build(work_dir: str = _WORK) -> dict[str, str]:
    """Builds the benchmark dataset once; returns {"tfrecord": data_dir, "array_record": ...}."""
    manual_dir = os.path.join(work_dir, "manual")
    if not os.path.exists(os.path.join(manual_dir, "ILSVRC2012_img_val.tar")):
        fake_data.write_sample(manual_dir, configs=["high_noise"], **_SAMPLE)
    data_dirs = {}
    for file_format in ("tfrecord", "array_record"):
        data_dir = os.path.join(work_dir, f"data_{file_format}")
        builder = tfds.builder(_NAME, data_dir=data_dir, file_format=file_format)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
        )
        data_dirs[file_format] = data_dir
    return data_dirs


def baseline_iterator(data_dir: str, batch_size: int):
    """decode_jpeg + resize + batch over the same TFRecord build: the reference."""
    builder = tfds.builder(_NAME, data_dir=data_dir)
    ds = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    ds = ds.repeat().map(
        lambda example: tf.image.resize(
            tf.io.decode_jpeg(example["image"], channels=3), (224, 224)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def settle(seconds: float = 1.0) -> None:
    """Lets a finished pipeline's background threads stop before the next one is timed:
    a dropped tf.data iterator lives until the garbage collector frees it, and its
    prefetch threads keep decoding meanwhile, on the next pipeline's CPU time."""
    gc.collect()
    time.sleep(seconds)


def measure(iterator, batch_size: int, num_batches: int, warmup: int = 3) -> tuple[float, float]:
    """(images/s, CPU ms per image) over `num_batches` batches, after `warmup` batches.

    CPU time is this process's (all threads; grain workers excluded), which other
    programs on a shared machine disturb much less than wall time.
    """
    for _ in range(warmup):
        next(iterator)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(num_batches):
        next(iterator)
    num_images = num_batches * batch_size
    cpu_ms = 1000 * (time.process_time() - start_cpu) / num_images
    return num_images / (time.perf_counter() - start), cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--grain-workers", type=int, default=0, help="grain worker processes")
    parser.add_argument(
        "--grain-threads", type=int, default=2, help="grain read threads (make_iterator's default)"
    )
    args = parser.parse_args()

    data_dirs = build()
    jpeg_sizes = [
        len(example["image"])
        for example in tfds.builder(_NAME, data_dir=data_dirs["tfrecord"])
        .as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
        .take(500)
        .as_numpy_iterator()
    ]
    grain_name = f"imagenet_pi grain (all PI, {args.grain_threads} read threads"
    grain_name += f", {args.grain_workers} workers)" if args.grain_workers else ")"
    runs = {
        "baseline (decode_jpeg + resize + batch, no PI)": lambda: baseline_iterator(
            data_dirs["tfrecord"], args.batch_size
        ),
        "imagenet_pi tfdata (all PI)": lambda: input_pipeline.make_iterator(
            _NAME,
            "train",
            data_dir=data_dirs["tfrecord"],
            global_batch_size=args.batch_size,
            train=True,
            backend="tfdata",
        ),
        grain_name: lambda: input_pipeline.make_iterator(
            _NAME,
            "train",
            data_dir=data_dirs["array_record"],
            global_batch_size=args.batch_size,
            train=True,
            backend="grain",
            worker_count=args.grain_workers,
            read_threads=args.grain_threads,
        ),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    names = list(runs)
    for round_index in range(args.rounds):
        # Each round starts with a different pipeline, so none always follows the same one.
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            iterator = runs[name]()
            results[name].append(measure(iterator, args.batch_size, args.batches))
            getattr(iterator, "close", lambda: None)()
            del iterator
            settle()

    print(
        f"\n{len(jpeg_sizes)} JPEGs sampled: mean {np.mean(jpeg_sizes) / 1000:.0f} kB; "
        f"batch {args.batch_size}, {args.batches} batches x {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    rates = {name: [rate for rate, _ in values] for name, values in results.items()}
    cpu = {name: [ms for _, ms in values] for name, values in results.items()}
    base_name = names[0]
    base_cpu = statistics.median(cpu[base_name])
    print(
        f"| {'pipeline':<46} | images/s (median) | x baseline (median; range) "
        "| CPU ms/image | baseline CPU / ours |"
    )
    widths = (48, 19, 28, 14, 20)
    print("|" + "|".join("-" * width for width in widths) + "|")
    for name in runs:
        ratios = [ours / base for ours, base in zip(rates[name], rates[base_name])]
        spread = f"{statistics.median(ratios):.2f}; {min(ratios):.2f}-{max(ratios):.2f}"
        ms = statistics.median(cpu[name])
        print(
            f"| {name:<46} | {statistics.median(rates[name]):17.0f} | {spread:>26} "
            f"| {ms:12.2f} | {base_cpu / ms:18.2f} |"
        )
    print("\nimages/s of each round:")
    for name in runs:
        print(f"  {name}: " + ", ".join(f"{v:.0f}" for v in rates[name]))
    print(
        "\nbaseline and tfdata stream TFRecord files; grain reads records at random from "
        "array_record files (written uncompressed by the builder) in grain's threads and "
        "decodes them in one long-lived tf.data pipeline."
    )


if __name__ == "__main__":
    main()
