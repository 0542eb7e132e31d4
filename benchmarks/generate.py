"""Benchmark: generating imagenet_pi on one machine, single-process and on Beam, against TFDS.

Writes a synthetic ILSVRC2012 sample of realistic size (default 100 synsets x 100
images + 1,000 validation images of ~115 kB, with the real release's 22 CMYK JPEGs and
one PNG) and the high_noise PI CSVs into a work folder, once (reused when present).
Then, in one run, each in a fresh subprocess, after a first copy that puts every input
file in the page cache:

  copy:     a plain copy of the input bytes (both tars and the CSVs): the I/O floor.
  tfds:     TFDS 4.9.10's own imagenet_pi builder (no configs, no image fixes, asserts)
            on the same tars and CSVs (symlinked into the layout it reads).
  parallel: our builder as users run it: one worker process per CPU available.
  plain:    our builder on one worker (`build_workers=1`: everything in one process).
  workersN: our builder on N workers (e.g. workers3, workers4).
  ceiling:  two independent `plain` builds of the whole sample at once, each into its
            own data_dir: what this machine gives two copies of this workload. Its
            examples/s counts both builds' examples.
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
TensorFlow imports excluded; worker start-up, Beam's pipeline start-up included), and
the CPU seconds it used (all threads and all worker processes): on a shared, loaded
machine wall time swings with the load, CPU time much less. Memory is sampled every
50 ms over the whole process tree of a run: `RSS` sums the resident memory of its
processes (pages shared between forked workers counted in each), `PSS` shares such
pages out (the memory the run really holds). `disk` is the peak growth of the output
filesystem's used space during the run (the dataset and any temporary files), beside
the size of the dataset written; `temp` is the difference, the temporary files at their
peak. `--repeats N` runs the whole list N times,
interleaved so that every run sees the same load, and shows medians (memory and disk:
the largest).

    python benchmarks/generate.py                       # 10,000 + 1,000 images
    python benchmarks/generate.py --only plain,tfds     # some runs only
    python benchmarks/generate.py --repeats 3           # medians of 3 rounds
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
    "parallel",
    "plain",
    "ceiling",
    "beam1",
    "beam2",
    "beam1-in-memory",
    "beam2-unshuffled",
    "headers",
    "jpeg-end",
)
DEFAULT_RUNS = ("copy", "tfds", "parallel", "plain", "ceiling")
_BEAM_MODES = {"in-memory": "in_memory"}
# Worker counts of our builder's runs (None: the default, every CPU available).
_WORKERS = {"parallel": None, "plain": 1}


def _is_workers(run: str) -> bool:
    return run.startswith("workers") and run[len("workers") :].isdigit()


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


def _measure(run: str, manual_dir: str, tfds_manual_dir: str, out_dir: str, go: str) -> dict:
    """One run in this (child) process; waits for the file `go` before it starts timing."""
    if run == "copy":
        _ready_and_wait(go)
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        for index, path in enumerate(_input_files(manual_dir)):
            shutil.copyfile(path, os.path.join(out_dir, f"{index}_{os.path.basename(path)}"))
        return {
            "seconds": time.perf_counter() - start,
            "cpu_seconds": _cpu_seconds() - cpu_start,
        }

    if run in ("headers", "jpeg-end"):
        _ready_and_wait(go)
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

        workers = _WORKERS.get(run) or (int(run[len("workers") :]) if _is_workers(run) else None)
        builder = tfds.builder(f"imagenet_pi/{CONFIG}", data_dir=out_dir, build_workers=workers)
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
    _ready_and_wait(go)
    start, cpu_start, started_at = time.perf_counter(), _cpu_seconds(), time.time()
    try:
        builder.download_and_prepare(download_config=download_config)
    except Exception as error:  # Reported in the table: a failed run still took its time.
        last_line = str(error).strip().splitlines()[-1][:400]  # Runners wrap the cause.
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "error": f"{type(error).__name__}: {last_line}"}
    seconds, cpu_seconds = time.perf_counter() - start, _cpu_seconds() - cpu_start
    splits = {name: split.num_examples for name, split in builder.info.splits.items()}
    dataset_bytes = sum(
        entry.stat().st_size for entry in os.scandir(builder.data_dir) if entry.is_file()
    )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "examples": sum(splits.values()),
        "splits": splits,
        "started_at": started_at,
        "ended_at": started_at + seconds,
        "dataset_mb": dataset_bytes / 1e6,
    }


def _ready_and_wait(go: str) -> None:
    """Tells the driver this child has imported what it needs, then waits for its go."""
    open(go + ".ready." + str(os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)


def _measure_check(run: str, manual_dir: str) -> dict:
    """Times one content check over every image of the sample, read into memory first."""
    from imagenet_pi import ilsvrc
    from imagenet_pi.ilsvrc import image_fixes

    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    images = [
        record.image
        for split in ("train", "validation")
        for record in ilsvrc.iter_split(layout, split)
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
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and its finished children."""
    import resource

    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# The driver: children started, their process trees sampled.


def _process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in kB, from /proc/<pid>/smaps_rollup (0, 0 if it is gone)."""
    values = {"Rss:": 0, "Pss:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                key, _, rest = line.partition(" ")
                if key in values:
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def _used_bytes(path: str) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def _run_children(runs: list[str], manual_dir: str, tfds_manual_dir: str, work_dir: str) -> list:
    """Runs `runs` at once, each in a child process; their results, with memory and disk.

    Memory and disk are sampled every 50 ms once all children are ready (imports done).
    """
    go = os.path.join(work_dir, "go")
    for stale in [go, *(go + ".ready." + name for name in os.listdir(work_dir))]:
        if os.path.exists(stale):
            os.remove(stale)
    children, out_dirs = [], []
    for index, run in enumerate(runs):
        out_dir = os.path.join(work_dir, "out", f"{run}{index}")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        out_dirs.append(out_dir)
        command = [sys.executable, __file__, "--child", run, manual_dir, tfds_manual_dir]
        children.append(
            subprocess.Popen(
                [*command, out_dir, go], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    while sum(name.startswith("go.ready.") for name in os.listdir(work_dir)) < len(runs):
        if any(child.poll() is not None for child in children):
            break
        time.sleep(0.01)
    disk_start = _used_bytes(work_dir)
    peak_rss = peak_pss = peak_disk = 0
    open(go, "w").close()
    while any(child.poll() is None for child in children):
        rss = pss = 0
        for child in children:
            for pid in _process_tree(child.pid):
                process_rss, process_pss = _memory_kb(pid)
                rss, pss = rss + process_rss, pss + process_pss
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        peak_disk = max(peak_disk, _used_bytes(work_dir) - disk_start)
        time.sleep(0.05)
    results = []
    for run, child, out_dir in zip(runs, children, out_dirs, strict=True):
        stdout, stderr = child.communicate()
        shutil.rmtree(out_dir, ignore_errors=True)
        if child.returncode != 0:
            raise RuntimeError(f"run {run} failed:\n{stderr[-6000:]}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    for result in results:
        result.update(rss_mb=peak_rss / 1e3, pss_mb=peak_pss / 1e3, disk_mb=peak_disk / 1e6)
    return results


def _run(run: str, manual_dir: str, tfds_manual_dir: str, work_dir: str) -> dict:
    """One run's result; `ceiling` is two `plain` builds at once, counted together."""
    if run != "ceiling":
        return _run_children([run], manual_dir, tfds_manual_dir, work_dir)[0]
    both = _run_children(["plain", "plain"], manual_dir, tfds_manual_dir, work_dir)
    if any("error" in result for result in both):
        return next(result for result in both if "error" in result)
    seconds = max(r["ended_at"] for r in both) - min(r["started_at"] for r in both)
    return {
        "seconds": seconds,
        "cpu_seconds": sum(r["cpu_seconds"] for r in both),
        "examples": sum(r["examples"] for r in both),
        "splits": [r["splits"] for r in both],
        "builds": 2,
        **{key: both[0][key] for key in ("rss_mb", "pss_mb", "disk_mb")},
        "dataset_mb": sum(r["dataset_mb"] for r in both),
    }


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
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return

    runs = [run.strip() for run in args.only.split(",") if run.strip()]
    unknown = sorted(run for run in set(runs) - set(RUNS) if not _is_workers(run))
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {','.join(RUNS)} or workersN")
    manual_dir, tfds_manual_dir = _sample_dirs(args)
    inputs = _input_files(manual_dir)
    input_mb = sum(os.path.getsize(path) for path in inputs) / 1e6
    num_images = args.synsets * args.images_per_synset + args.validation
    # The first read puts every input in the page cache, so no run pays for the disk.
    _run("copy", manual_dir, tfds_manual_dir, args.work_dir)

    from imagenet_pi.generation import worker_count

    print(
        f"{num_images:,} images ({args.synsets} synsets x {args.images_per_synset} + "
        f"{args.validation} validation), {input_mb:,.0f} MB of input "
        f"({input_mb * 1e3 / num_images:.0f} kB an image, CSVs included); "
        f"{os.cpu_count()} CPUs, {worker_count.available_cpus()} available to this process; "
        f"load average before the runs {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'run':<17}{'seconds':>8}{'CPU s':>7}{'CPU ms/ex':>10}{'examples/s':>11}{'MB/s':>7}"
        f"{'RSS MB':>8}{'PSS MB':>8}{'disk MB':>8}{'dataset':>8}{'temp':>7}"
    )
    results: dict[str, list[dict]] = {run: [] for run in runs}
    for _ in range(args.repeats):
        for run in runs:
            results[run].append(_run(run, manual_dir, tfds_manual_dir, args.work_dir))
    for run in runs:
        failed = [result for result in results[run] if "error" in result]
        if failed:
            print(f"{run:<17}{failed[0]['seconds']:>8.1f}  FAILED: {failed[0]['error']}")
            continue
        builds = results[run][0].get("builds", 1)
        for result in results[run]:
            examples = result.get("examples", num_images * builds)
            if examples != num_images * builds:
                raise RuntimeError(
                    f"run {run} wrote {result['splits']}, expected {num_images} examples a build"
                )
        seconds = statistics.median(result["seconds"] for result in results[run])
        if run in ("headers", "jpeg-end"):
            print(f"{run:<17}{seconds:>8.3f}  {seconds / num_images * 1e6:.1f} us an image")
            continue
        cpu_seconds = statistics.median(result["cpu_seconds"] for result in results[run])
        peaks = {key: max(r.get(key, 0) for r in results[run]) for key in ("rss_mb", "pss_mb")}
        disk = max(result.get("disk_mb", 0) for result in results[run])
        dataset = max(result.get("dataset_mb", 0) for result in results[run])
        examples = num_images * builds
        print(
            f"{run:<17}{seconds:>8.2f}{cpu_seconds:>7.1f}{cpu_seconds / examples * 1e3:>10.3f}"
            f"{examples / seconds:>11,.0f}{input_mb * builds / seconds:>7.0f}"
            f"{peaks['rss_mb']:>8,.0f}{peaks['pss_mb']:>8,.0f}{disk:>8,.0f}{dataset:>8,.0f}"
            f"{max(0.0, disk - dataset):>7,.0f}"
        )
    if args.repeats > 1:
        for run in runs:
            shown = ", ".join(f"{result['seconds']:.2f}" for result in results[run])
            print(f"  {run}: seconds of each round: {shown}")
    print(f"Load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
