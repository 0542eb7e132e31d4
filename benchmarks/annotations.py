"""Benchmark: reading one ImageNet-PI config's CSVs, ours against TFDS's own builder.

Writes synthetic CSVs with the real row counts and byte sizes (train labels ~107 MB,
train confidences ~463 MB of full-precision floats, rows shuffled) into a work folder
(reused when present), then times each reader in a fresh subprocess so that peak RSS
is the reader's own:

  ours: imagenet_pi.annotations.read_split for both splits + read_annotator_features.
  tfds: TFDS 4.9's imagenet_pi Builder._get_{train,validation}_annotator_{labels,
        confidences} on a download manager stand-in whose manual_dir is the config folder.

    python benchmarks/annotations.py            # full scale
    python benchmarks/annotations.py --quick    # smoke run on 20,000 + 2,000 rows
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

FULL_ROWS = {"train": 1_281_167, "validation": 50_000}
QUICK_ROWS = {"train": 20_000, "validation": 2_000}
TARGET_SECONDS = 4.0
TARGET_RSS_MB = 600
NUM_ANNOTATORS = 16  # Not imported from imagenet_pi: the parent process stays light.
_CHUNK_ROWS = 1 << 16
_NUL, _COMMA, _NEWLINE = 0, ord(","), ord("\n")


# Synthetic files, formatted with vectorised numpy: each line is built in a fixed-width
# uint8 matrix padded with NUL bytes, and the NULs are dropped when writing.


def _digits(values: np.ndarray, width: int, zero_pad: bool = False) -> np.ndarray:
    """(n,) non-negative ints -> (n, width) ASCII digits; leading zeros NUL unless zero_pad."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    text = ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    if not zero_pad:
        text[(values[:, None] < powers) & (powers > 1)] = _NUL
    return text


def _text(num_rows: int, text: str) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (num_rows, len(text)))


def _train_names(rng: np.random.Generator, num_rows: int) -> np.ndarray:
    """'n<8-digit synset>_<number>.JPEG' for 1000 synsets, about 19.7 bytes each."""
    synsets = np.sort(rng.choice(np.arange(1_000_000, 15_000_000), 1000, replace=False))
    per_synset = np.full(1000, num_rows // 1000)
    per_synset[: num_rows % 1000] += 1
    numbers = np.concatenate(
        [rng.choice(np.arange(1, 60_000), k, replace=False) for k in per_synset]
    )
    return np.concatenate(
        [
            _text(num_rows, "n"),
            _digits(np.repeat(synsets, per_synset), 8, zero_pad=True),
            _text(num_rows, "_"),
            _digits(numbers, 6),
            _text(num_rows, ".JPEG"),
        ],
        axis=1,
    )


def _validation_names(num_rows: int) -> np.ndarray:
    """'ILSVRC2012_val_<8 digits>.JPEG'."""
    numbers = np.arange(1, num_rows + 1)
    return np.concatenate(
        [
            _text(num_rows, "ILSVRC2012_val_"),
            _digits(numbers, 8, zero_pad=True),
            _text(num_rows, ".JPEG"),
        ],
        axis=1,
    )


def _label_fields(rng: np.random.Generator, num_rows: int) -> np.ndarray:
    labels = rng.integers(0, 1000, num_rows * NUM_ANNOTATORS)
    return _digits(labels, 3).reshape(num_rows, NUM_ANNOTATORS, 3)


def _confidence_fields(rng: np.random.Generator, num_rows: int) -> np.ndarray:
    """Full-precision floats in [0, 1) as repr prints them: 17 significant digits,
    positional down to 1e-4 (19-22 characters) and exponent form below, e.g.
    '0.012345678901234567' or '1.2345678901234567e-05'; 20.3 characters on average."""
    count = num_rows * NUM_ANNOTATORS
    exponent = rng.choice(np.arange(1, 7), count, p=[0.3, 0.3, 0.25, 0.08, 0.05, 0.02])
    digits = (rng.integers(0, 10, (count, 17)) + ord("0")).astype(np.uint8)
    digits[:, 0] = rng.integers(1, 10, count) + ord("0")
    fields = np.zeros((count, 22), np.uint8)
    for e in range(1, 7):
        rows = exponent == e
        if e <= 4:  # 0.00ddddddddddddddddd
            fields[rows, :2] = np.frombuffer(b"0.", np.uint8)
            fields[rows, 2 : 1 + e] = ord("0")
            fields[rows, 1 + e : 18 + e] = digits[rows]
        else:  # d.dddddddddddddddde-0X
            fields[rows, 0] = digits[rows, 0]
            fields[rows, 1] = ord(".")
            fields[rows, 2:18] = digits[rows, 1:]
            fields[rows, 18:22] = np.frombuffer(f"e-0{e}".encode(), np.uint8)
    return fields.reshape(num_rows, NUM_ANNOTATORS, 22)


def _lines(names: np.ndarray, fields: np.ndarray) -> bytes:
    """Rows `<name>,<v1>,...,<v16>\\n` from NUL-padded name and field matrices."""
    num_rows = len(names)
    commas = np.full((num_rows, NUM_ANNOTATORS, 1), _COMMA, np.uint8)
    body = np.concatenate([commas, fields], axis=2).reshape(num_rows, -1)
    newline = np.full((num_rows, 1), _NEWLINE, np.uint8)
    matrix = np.concatenate([names, body, newline], axis=1)
    return matrix[matrix != _NUL].tobytes()


def write_synthetic_config(config_dir: pathlib.Path, rows: dict[str, int], seed: int = 0) -> None:
    """Writes labels/, confidences/ (rows shuffled, same order in both) and annotator_features."""
    rng = np.random.default_rng(seed)
    for split, num_rows in rows.items():
        names = _train_names(rng, num_rows) if split == "train" else _validation_names(num_rows)
        names = names[rng.permutation(num_rows)]
        for kind, make_fields in (("labels", _label_fields), ("confidences", _confidence_fields)):
            path = config_dir / kind / f"{split}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                for start in range(0, num_rows, _CHUNK_ROWS):
                    chunk = names[start : start + _CHUNK_ROWS]
                    f.write(_lines(chunk, make_fields(rng, len(chunk))))
    features = rng.normal(size=(NUM_ANNOTATORS, 2))
    (config_dir / "annotator_features.csv").write_text(
        "".join(f"{a!r},{b!r}\n" for a, b in features.tolist())
    )


def prepare(work_dir: pathlib.Path, rows: dict[str, int]) -> pathlib.Path:
    """The config folder for these row counts, generated unless already complete."""
    config_dir = work_dir / f"train{rows['train']}_validation{rows['validation']}" / "high_noise"
    done = config_dir / "_COMPLETE"
    if done.exists():
        print(f"Reusing {config_dir}")
        return config_dir
    print(f"Writing synthetic CSVs to {config_dir} ...", flush=True)
    start = time.perf_counter()
    write_synthetic_config(config_dir, rows)
    done.write_text(json.dumps(rows))
    print(f"  done in {time.perf_counter() - start:.1f} s")
    return config_dir


# The measured readers, each run in its own process.


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _import_reader_alone():
    """imagenet_pi.annotations without the package __init__, which imports the TFDS builder:
    the benchmark measures the reader, and stays runnable while other modules change."""
    import types

    package = types.ModuleType("imagenet_pi")
    package.__path__ = [str(pathlib.Path(__file__).resolve().parent.parent / "imagenet_pi")]
    sys.modules["imagenet_pi"] = package
    from imagenet_pi import annotations

    return annotations


def _child_ours(config_dir: str) -> dict:
    start = time.perf_counter()
    annotations = _import_reader_alone()

    imported = time.perf_counter()
    rss_after_import = _current_rss_mb()
    cpu_start = time.process_time()
    splits = {split: annotations.read_split(config_dir, split) for split in FULL_ROWS}
    features = annotations.read_annotator_features(config_dir)
    done = time.perf_counter()
    cpu_s = time.process_time() - cpu_start
    peak = _peak_rss_mb()
    _spot_check(config_dir, splits, features)
    return {
        "import_s": imported - start,
        "read_s": done - imported,
        "cpu_s": cpu_s,
        "rss_after_import_mb": rss_after_import,
        "peak_rss_mb": peak,
        "rows": {split: len(values) for split, values in splits.items()},
    }


def _spot_check(config_dir: str, splits: dict, features: np.ndarray) -> None:
    """Compares a few random lines of each file, parsed by Python, with what was read."""
    rng = random.Random(0)
    assert features.shape == (NUM_ANNOTATORS, 2)
    for split, values in splits.items():
        assert np.all(values.file_names[1:] > values.file_names[:-1]), "not sorted"
        for kind, array, parse in (
            ("labels", values.labels, int),
            ("confidences", values.confidences, lambda text: np.float32(float(text))),
        ):
            path = os.path.join(config_dir, kind, f"{split}.csv")
            with open(path, "rb") as f:
                size = os.path.getsize(path)
                for _ in range(20):
                    f.seek(rng.randrange(size))
                    f.readline()  # Skips to the start of the next line.
                    line = f.readline()
                    if not line:
                        continue
                    name, *fields = line.decode().rstrip("\n").split(",")
                    row = values.row(name)
                    expected = [parse(text) for text in fields]
                    assert list(array[row]) == expected, (path, name, array[row], expected)


def _child_tfds(config_dir: str) -> dict:
    start = time.perf_counter()
    import types

    from etils import epath
    from tensorflow_datasets.datasets.imagenet_pi import imagenet_pi_dataset_builder as tfds_pi

    imported = time.perf_counter()
    rss_after_import = _current_rss_mb()
    cpu_start = time.process_time()
    # The methods only use their own class's helpers, so no builder needs constructing.
    builder = object.__new__(tfds_pi.Builder)
    dl_manager = types.SimpleNamespace(manual_dir=epath.Path(config_dir))
    values = {
        "train_labels": builder._get_train_annotator_labels(dl_manager),
        "train_confidences": builder._get_train_annotator_confidences(dl_manager),
        "validation_labels": builder._get_validation_annotator_labels(dl_manager),
        "validation_confidences": builder._get_validation_annotator_confidences(dl_manager),
    }
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "read_s": done - imported,
        "cpu_s": time.process_time() - cpu_start,
        "rss_after_import_mb": rss_after_import,
        "peak_rss_mb": _peak_rss_mb(),
        "rows": {name: len(rows) for name, rows in values.items()},
    }


def _run_child(reader: str, config_dir: pathlib.Path) -> dict:
    command = [sys.executable, __file__, "--child", reader, "--config-dir", str(config_dir)]
    repo = str(pathlib.Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work-dir", type=pathlib.Path, default=pathlib.Path(__file__).parent / "_work"
    )
    parser.add_argument("--rows-train", type=int, default=FULL_ROWS["train"])
    parser.add_argument("--rows-validation", type=int, default=FULL_ROWS["validation"])
    parser.add_argument("--quick", action="store_true", help="20,000 + 2,000 rows, one run each")
    parser.add_argument("--repeats", type=int, default=3, help="runs of our reader (median shown)")
    parser.add_argument("--skip-tfds", action="store_true", help="do not run TFDS's reader")
    parser.add_argument("--child", choices=["ours", "tfds"], help=argparse.SUPPRESS)
    parser.add_argument("--config-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child = _child_ours if args.child == "ours" else _child_tfds
        print(json.dumps(child(args.config_dir)))
        return

    rows = {"train": args.rows_train, "validation": args.rows_validation}
    repeats = args.repeats
    if args.quick:
        rows, repeats = dict(QUICK_ROWS), 1
    config_dir = prepare(args.work_dir, rows)
    sizes = {
        path.relative_to(config_dir).as_posix(): path.stat().st_size
        for path in sorted(config_dir.rglob("*.csv"))
    }
    print("Files:", ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))
    print(f"Load average before the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    runs = {"ours": [_run_child("ours", config_dir) for _ in range(repeats)]}
    if not args.skip_tfds:
        runs["tfds"] = [_run_child("tfds", config_dir)]

    names = {
        "ours": "imagenet_pi.annotations (2 splits + features)",
        "tfds": "TFDS 4.9 imagenet_pi builder (2 splits)",
    }
    print()
    header = (
        f"{'reader':46s} {'seconds':>7s} {'CPU s':>6s} {'peak RSS MB':>11s} "
        f"{'RSS after imports':>17s}  target"
    )
    print(header)
    print("-" * len(header))
    for reader, results in runs.items():
        seconds = statistics.median(result["read_s"] for result in results)
        cpu = statistics.median(result["cpu_s"] for result in results)
        peak = statistics.median(result["peak_rss_mb"] for result in results)
        after_import = statistics.median(result["rss_after_import_mb"] for result in results)
        target = (
            f"<= {TARGET_SECONDS:g} s, <= {TARGET_RSS_MB} MB" if reader == "ours" else "reference"
        )
        figures = f"{seconds:7.2f} {cpu:6.2f} {peak:11.0f} {after_import:17.0f}"
        print(f"{names[reader]:46s} {figures}  {target}")
    if len(runs["ours"]) > 1:
        all_seconds = ", ".join(f"{result['read_s']:.2f}" for result in runs["ours"])
        print(f"(ours: median of {len(runs['ours'])} runs: {all_seconds} s)")
    print(f"Load average after the runs: {os.getloadavg()[0]:.2f}")
    print("Rows read:", {reader: results[0]["rows"] for reader, results in runs.items()})
    print(
        "Seconds (wall) and CPU s (all threads) exclude imports; peak RSS includes them "
        "(see 'RSS after imports'; ours imports numpy, pyarrow and etils, not TFDS). "
        "A loaded machine inflates seconds, not CPU s."
    )


if __name__ == "__main__":
    main()
