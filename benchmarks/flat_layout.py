"""Benchmark: identifying TFDS's imagenet_pi layout as a released config, beside parsing it.

A flat layout (`<manual_dir>/labels/`, `<manual_dir>/confidences/`) is identified by its
sizes and, when they match a released config, by the sha256 of its four CSVs
(`annotations.releases.identify_release`). This prints what that costs for one config's
CSVs at full size (the synthetic files of benchmarks/annotations.py, ~590 MB, reused
from its work folder), beside the reference the build pays anyway: parsing the same
files with `annotations.read_split_files`. Both run in this process, one after the
other, with the files in the page cache (a first, cold read costs the disk's speed).

    python benchmarks/flat_layout.py            # full scale
    python benchmarks/flat_layout.py --quick    # 20,000 + 2,000 rows
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import annotations as csv_benchmark  # benchmarks/annotations.py: writes the synthetic CSVs

from imagenet_pi import annotations, upstream
from imagenet_pi.annotations import releases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work-dir", type=pathlib.Path, default=pathlib.Path(__file__).parent / "_work"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = csv_benchmark.QUICK_ROWS if args.quick else csv_benchmark.FULL_ROWS
    config_dir = csv_benchmark.prepare(args.work_dir, dict(rows))
    files = {rel: str(config_dir / rel) for rel in upstream.split_csv_relpaths()}
    # Pin the synthetic files themselves: the sizes match, so every file is hashed.
    pinned = {"high_noise": {rel: _pin(path) for rel, path in files.items()}}
    megabytes = sum(os.path.getsize(path) for path in files.values()) / 1e6

    identify, parse = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        match = releases.identify_release(files, pinned)
        identify.append(time.perf_counter() - start)
        assert match.config == "high_noise", match
        start = time.perf_counter()
        for split in upstream.SPLITS:
            annotations.read_split_files(
                files[upstream.csv_relpath("labels", split)],
                files[upstream.csv_relpath("confidences", split)],
            )
        parse.append(time.perf_counter() - start)

    print(
        f"{megabytes:.0f} MB of CSVs, median of {args.repeats} runs, load {os.getloadavg()[0]:.2f}"
    )
    print(f"  identify (sizes + sha256):        {statistics.median(identify):6.2f} s   ours")
    print(f"  parse (annotations, both splits): {statistics.median(parse):6.2f} s   reference")


def _pin(path: str) -> releases.PinnedFile:
    return releases.PinnedFile("file://" + path, os.path.getsize(path), releases.sha256_of(path))


if __name__ == "__main__":
    main()
