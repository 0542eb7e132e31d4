"""Benchmark: building imagenet_pi from a TFDS-prepared imagenet2012 against from the tars.

One synthetic sample is written as ILSVRC2012 tars, as extracted folders, and as an
`imagenet2012` prepared by TFDS's own builder (into a work folder, reused when
present). Then, for each form, in this process and after a warm-up (every file is in
the page cache, so this measures CPU, not disk):

  read:  every image record of both splits through `ilsvrc.iter_split`
         (index, parse, odd-image check);
  build: `tfds.builder("imagenet_pi/high_noise").download_and_prepare(...)` into a
         fresh data_dir (read + join + TFDS encoding, shuffling and writing).

Each figure is the best of --repeats runs, the forms interleaved.

    python benchmarks/sources.py            # 40 synsets x 50 images + 2,000 val, ~90 kB each
    python benchmarks/sources.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import tensorflow_datasets as tfds

from imagenet_pi import fake_data, ilsvrc

FORMS = ("tars", "prepared", "val_flat")


def _sample(work_dir: str, kwargs: dict) -> dict[str, str]:
    """form -> manual_dir, written once per sample size."""
    tars = os.path.join(work_dir, "tars")
    done = os.path.join(work_dir, "done")
    dirs = {
        "tars": tars,
        "prepared": os.path.join(work_dir, "prepared"),
        "val_flat": os.path.join(work_dir, "val_flat"),
    }
    if os.path.exists(done):
        return dirs
    shutil.rmtree(work_dir, ignore_errors=True)
    start = time.perf_counter()
    sample = fake_data.write_sample(tars, configs=["high_noise"], **kwargs)
    fake_data.extract_to_folders(sample, dirs["val_flat"], "val_flat")
    print(f"wrote the sample in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    fake_data.prepare_imagenet2012(sample, dirs["prepared"])
    print(f"TFDS prepared imagenet2012 from the tars in {time.perf_counter() - start:.1f} s")
    open(done, "w").close()
    return dirs


def _read(manual_dir: str) -> int:
    layout = ilsvrc.detect_layout(manual_dir)
    return sum(
        len(record.image)
        for split in ("validation", "train")
        for record in ilsvrc.iter_split(layout, split)
    )


def _build(manual_dir: str) -> None:
    data_dir = tempfile.mkdtemp(prefix="imagenet_pi_bench_")
    try:
        builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
        )
    finally:
        shutil.rmtree(data_dir)


def _seconds(fn, manual_dir: str) -> float:
    start = time.perf_counter()
    fn(manual_dir)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small sample, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    kwargs = dict(num_synsets=40, images_per_synset=50, num_validation=2000, image_size=380)
    if args.quick:
        kwargs = dict(num_synsets=5, images_per_synset=10, num_validation=50, image_size=64)
        args.repeats = 1
    name = "_".join(f"{k}{v}" for k, v in kwargs.items())
    work_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_work", "sources", name)
    tfds.disable_progress_bar()
    dirs = _sample(work_dir, kwargs)
    num_images = kwargs["num_synsets"] * kwargs["images_per_synset"] + kwargs["num_validation"]
    total_bytes = _read(dirs["tars"])  # warm-up: imports, page cache
    _read(dirs["prepared"])
    _build(dirs["tars"])
    print(
        f"{num_images} images, {total_bytes / 1e6:.0f} MB of JPEG "
        f"({total_bytes / num_images / 1e3:.0f} kB each); best of {args.repeats}\n"
    )
    # Forms interleaved, best of the repeats: other load on the machine hits all alike.
    results = {form: (float("inf"), float("inf")) for form in FORMS}
    for _ in range(args.repeats):
        for form in FORMS:
            read_s, build_s = _seconds(_read, dirs[form]), _seconds(_build, dirs[form])
            results[form] = min(results[form][0], read_s), min(results[form][1], build_s)
    print(f"{'form':<10} {'read s':>8} {'images/s':>10} {'build s':>8}")
    for form, (read_s, build_s) in results.items():
        print(f"{form:<10} {read_s:>8.2f} {num_images / read_s:>10.0f} {build_s:>8.2f}")
    (tar_read, tar_build), (prep_read, prep_build) = results["tars"], results["prepared"]
    print(
        f"\nprepared imagenet2012 vs tars: read {tar_read / prep_read:.2f}x as fast, "
        f"build {tar_build / prep_build:.2f}x as fast"
    )


if __name__ == "__main__":
    main()
