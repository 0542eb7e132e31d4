"""Benchmark: generating imagenet_pi on one machine, single-process and on Beam, against TFDS.

Writes a synthetic ILSVRC2012 sample of realistic size (default 100 synsets x 100
images + 1,000 validation images of ~115 kB, with the real release's 22 CMYK JPEGs and
one PNG) and the high_noise PI CSVs into a work folder, once (reused when present).
Then, in one run, each in a fresh subprocess, after a first copy that puts every input
file in the page cache:

  copy:  a plain copy of the input bytes (both tars and the CSVs): the I/O floor.
  tfds:  TFDS 4.9.10's own imagenet_pi builder (no configs, no image fixes, asserts)
         on the same tars and CSVs (symlinked into the layout it reads).
  plain: our builder, single-process (validation, odd-image fixes, strict join).
  beam1, beam2: our builder on Beam's DirectRunner, multi_processing, 1 and 2 workers.
  beam1-in-memory: the same, in_memory (one worker in this process, no gRPC).
  beam2-unshuffled: beam2 with `nondeterministic_order=True` and 4 output shards (TFDS's
         writer skips its shuffle: files then hold examples in reading order, grouped by
         synset). Shows what TFDS's shuffle costs; not in the default runs.
  headers, jpeg-end: the content checks alone, over every image of the sample held in
         memory: `image_fixes.image_kind` (the CMYK/PNG header check) and
         `image_fixes.check_complete_jpeg` (the cut-short check). What each costs the
         `plain` build per image; not in the default runs.

Each figure is the time of `download_and_prepare` in its subprocess (Python and
TensorFlow imports excluded; Beam's pipeline start-up and worker start included), and
the CPU seconds it used (all threads, and Beam workers): on a shared, loaded machine
wall time swings with the load, CPU time much less. `--repeats N` runs the whole list N
times, interleaved so that every run sees the same load, and shows medians.

    python benchmarks/generate.py                       # 10,000 + 1,000 images
    python benchmarks/generate.py --only plain,tfds     # some runs only
    python benchmarks/generate.py --only tfds,plain --repeats 3   # medians of 3
    python benchmarks/generate.py --synsets 4 --images-per-synset 5 --validation 10 \\
        --image-size 64                                  # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

RUNS = (
    "copy",
    "tfds",
    "plain",
    "beam1",
    "beam2",
    "beam1-in-memory",
    "beam2-unshuffled",
    "headers",
    "jpeg-end",
)
DEFAULT_RUNS = ("copy", "tfds", "plain", "beam1", "beam2", "beam1-in-memory")
_BEAM_MODES = {"in-memory": "in_memory"}
CONFIG = "high_noise"


def _sample_dirs(args: argparse.Namespace) -> tuple[str, str]:
    """(manual_dir for our builder, manual_dir for TFDS's), written once per sample size."""
    name = (
        f"synsets{args.synsets}_images{args.images_per_synset}_"
        f"validation{args.validation}_size{args.image_size}"
    )
    root = os.path.join(args.work_dir, name)
    manual_dir, tfds_manual_dir = os.path.join(root, "manual"), os.path.join(root, "tfds_manual")
    done = os.path.join(root, "done")
    if os.path.exists(done):
        return manual_dir, tfds_manual_dir
    from imagenet_pi import fake_data, upstream  # Imported here: the parent stays light.

    shutil.rmtree(root, ignore_errors=True)
    print(f"Writing the sample into {root} (once) ...", flush=True)
    start = time.perf_counter()
    fake_data.write_sample(
        manual_dir,
        configs=[CONFIG],
        num_synsets=args.synsets,
        images_per_synset=args.images_per_synset,
        num_validation=args.validation,
        image_size=args.image_size,
        num_cmyk=min(22, args.synsets * args.images_per_synset // 4),
        num_png=1,
    )
    # TFDS's builder reads the tars and <manual_dir>/{labels,confidences}/<split>.csv.
    os.makedirs(tfds_manual_dir)
    config_dir = os.path.join(manual_dir, "imagenet_pi", CONFIG)
    for target, link in (
        (os.path.join(manual_dir, upstream.TRAIN_TAR), upstream.TRAIN_TAR),
        (os.path.join(manual_dir, upstream.VAL_TAR), upstream.VAL_TAR),
        (os.path.join(config_dir, "labels"), "labels"),
        (os.path.join(config_dir, "confidences"), "confidences"),
    ):
        os.symlink(target, os.path.join(tfds_manual_dir, link))
    open(done, "w").close()
    print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return manual_dir, tfds_manual_dir


def _input_files(manual_dir: str) -> list[str]:
    files = [os.path.join(manual_dir, name) for name in sorted(os.listdir(manual_dir))]
    config_dir = os.path.join(manual_dir, "imagenet_pi", CONFIG)
    for folder, _, names in os.walk(config_dir):
        files += [os.path.join(folder, name) for name in sorted(names)]
    return [path for path in files if os.path.isfile(path)]


# One measurement, in a child process.


def _measure(run: str, manual_dir: str, tfds_manual_dir: str, out_dir: str) -> dict:
    if run == "copy":
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        for index, path in enumerate(_input_files(manual_dir)):
            shutil.copyfile(path, os.path.join(out_dir, f"{index}_{os.path.basename(path)}"))
        return {
            "seconds": time.perf_counter() - start,
            "cpu_seconds": _cpu_seconds() - cpu_start,
            **_peak_rss(),
        }

    if run in ("headers", "jpeg-end"):
        return _measure_check(run, manual_dir)

    import tensorflow as tf  # noqa: F401  (TFDS imports it lazily: keep that out of the timing)
    import tensorflow_datasets as tfds

    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    if run == "tfds":
        from tensorflow_datasets.datasets.imagenet_pi import imagenet_pi_dataset_builder

        # Instantiated directly: the name imagenet_pi resolves to our builder once imported.
        builder = imagenet_pi_dataset_builder.Builder(data_dir=out_dir)
        download_config = tfds.download.DownloadConfig(manual_dir=tfds_manual_dir)
    else:
        import imagenet_pi  # noqa: F401  (registers our builder)

        builder = tfds.builder(f"imagenet_pi/{CONFIG}", data_dir=out_dir)
        if run.startswith("beam"):
            import apache_beam as beam

            workers, _, variant = run[len("beam") :].partition("-")
            download_config = tfds.download.DownloadConfig(
                manual_dir=manual_dir,
                beam_options=beam.options.pipeline_options.PipelineOptions(
                    [
                        "--runner=DirectRunner",
                        f"--direct_num_workers={workers}",
                        f"--direct_running_mode={_BEAM_MODES.get(variant, 'multi_processing')}",
                    ]
                ),
                nondeterministic_order=run.endswith("unshuffled"),
                # TFDS 4.9.10's unshuffled Beam writer fails unless it is told a shard count.
                num_shards=4 if run.endswith("unshuffled") else None,
            )
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    try:
        builder.download_and_prepare(download_config=download_config)
    except Exception as error:  # Reported in the table: a failed run still took its time.
        last_line = str(error).strip().splitlines()[-1][:400]  # Runners wrap the cause.
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "error": f"{type(error).__name__}: {last_line}", **_peak_rss()}
    seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    splits = {name: split.num_examples for name, split in builder.info.splits.items()}
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "examples": sum(splits.values()),
        "splits": splits,
        **_peak_rss(),
    }


def _measure_check(run: str, manual_dir: str) -> dict:
    """Times one content check over every image of the sample, read into memory first."""
    from imagenet_pi import ilsvrc, image_fixes

    source = ilsvrc.TarSource.in_dir(manual_dir)
    images = [
        record.image
        for split in ("train", "validation")
        for record in ilsvrc.iter_split(source, split)
    ]
    if run == "headers":
        check = image_fixes.image_kind
    else:

        def check(image: bytes) -> None:
            image_fixes.check_complete_jpeg(image, "benchmark")

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    for image in images:
        check(image)
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": _cpu_seconds() - cpu_start,
        "examples": len(images),
        **_peak_rss(),
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and its finished children."""
    import resource

    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss() -> dict:
    """Peak resident memory of this process and of its largest finished child (Beam workers)."""
    import resource

    return {
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3,
    }


def _run_child(run: str, manual_dir: str, tfds_manual_dir: str, work_dir: str) -> dict:
    out_dir = os.path.join(work_dir, "out", run)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    command = [sys.executable, __file__, "--child", run, manual_dir, tfds_manual_dir, out_dir]
    result = subprocess.run(command, capture_output=True, text=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"run {run} failed:\n{result.stderr[-6000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synsets", type=int, default=100)
    parser.add_argument("--images-per-synset", type=int, default=100)
    parser.add_argument("--validation", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=480, help="~115 kB JPEGs at 480")
    parser.add_argument("--only", default=",".join(DEFAULT_RUNS), help=f"of {','.join(RUNS)}")
    parser.add_argument(
        "--work-dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "_work", "generate"),
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds of all runs, interleaved; medians shown"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return

    runs = [run.strip() for run in args.only.split(",") if run.strip()]
    unknown = sorted(set(runs) - set(RUNS))
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {','.join(RUNS)}")
    manual_dir, tfds_manual_dir = _sample_dirs(args)
    inputs = _input_files(manual_dir)
    input_mb = sum(os.path.getsize(path) for path in inputs) / 1e6
    num_images = args.synsets * args.images_per_synset + args.validation
    # The first read puts every input in the page cache, so no run pays for the disk.
    _run_child("copy", manual_dir, tfds_manual_dir, args.work_dir)

    print(
        f"{num_images:,} images ({args.synsets} synsets x {args.images_per_synset} + "
        f"{args.validation} validation), {input_mb:,.0f} MB of input "
        f"({input_mb * 1e3 / num_images:.0f} kB an image, CSVs included); "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'run':<18}{'seconds':>9}{'CPU s':>8}{'examples/s':>12}{'MB/s':>8}"
        f"{'peak RSS MB':>13}{'worker':>8}"
    )
    results: dict[str, list[dict]] = {run: [] for run in runs}
    for _ in range(args.repeats):
        for run in runs:
            results[run].append(_run_child(run, manual_dir, tfds_manual_dir, args.work_dir))
    for run in runs:
        failed = [result for result in results[run] if "error" in result]
        if failed:
            print(f"{run:<18}{failed[0]['seconds']:>9.1f}  FAILED: {failed[0]['error']}")
            continue
        for result in results[run]:
            examples = result.get("examples", num_images)
            if examples != num_images:
                raise RuntimeError(
                    f"run {run} wrote {result['splits']}, expected {num_images} examples"
                )
        seconds = statistics.median(result["seconds"] for result in results[run])
        if run in ("headers", "jpeg-end"):
            print(f"{run:<18}{seconds:>9.3f}  {seconds / num_images * 1e6:.1f} us an image")
            continue
        cpu_seconds = statistics.median(result["cpu_seconds"] for result in results[run])
        rss_mb = max(result["rss_mb"] for result in results[run])
        worker_rss_mb = max(result["worker_rss_mb"] for result in results[run])
        print(
            f"{run:<18}{seconds:>9.1f}{cpu_seconds:>8.1f}{num_images / seconds:>12.0f}"
            f"{input_mb / seconds:>8.1f}{rss_mb:>13,.0f}{worker_rss_mb:>8,.0f}"
        )
    if args.repeats > 1:
        for run in runs:
            shown = ", ".join(f"{result['seconds']:.1f}" for result in results[run])
            print(f"  {run}: seconds of each round: {shown}")
    print(f"Load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
