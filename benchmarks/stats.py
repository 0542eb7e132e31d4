"""Benchmark: the noise report over a full-size split (1,281,167 x 16 labels) in memory.

Arrays the size of ImageNet-PI's train split (clean labels, 16 annotator labels and
confidences; structured noise, each class confused with its index neighbours) are made
once; then, best of --repeats runs, in this process:

  ours:       `stats.split_report` (agreement, majority vote, confidence histograms,
              transition counts and summaries, top confusions, heat map);
  reference:  what the demo prints, one vectorised pass (overall agreement), plus the
              transition counts by `np.add.at` (the usual unbuffered scatter-add),
              to show what the whole report costs beside one statistic.

Also timed: clean labels from 1,281,167 train file names (`synsets.train_class_indices`).

    python benchmarks/stats.py            # full size
    python benchmarks/stats.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from imagenet_pi import stats, synsets, upstream


def _labels(num_examples: int) -> stats.SplitLabels:
    rng = np.random.default_rng(0)
    clean = rng.integers(0, upstream.NUM_CLASSES, num_examples)
    labels = np.empty((num_examples, upstream.NUM_ANNOTATORS), np.int16)
    confidences = np.empty(labels.shape, np.float32)
    for annotator in range(upstream.NUM_ANNOTATORS):
        draw = rng.random(num_examples)
        near = (clean + rng.integers(-3, 4, num_examples)) % upstream.NUM_CLASSES
        far = rng.integers(0, upstream.NUM_CLASSES, num_examples)
        labels[:, annotator] = np.where(draw < 0.16, clean, np.where(draw < 0.6, near, far))
        confidences[:, annotator] = rng.random(num_examples)
    return stats.SplitLabels(clean, labels, confidences)


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _reference(split: stats.SplitLabels) -> None:
    float(np.mean(split.annotator_labels == split.clean_labels[:, None]))
    counts = np.zeros((upstream.NUM_CLASSES, upstream.NUM_CLASSES), np.int64)
    np.add.at(counts, (split.clean_labels[:, None], split.annotator_labels), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    num_examples = 100_000 if args.quick else upstream.NUM_EXAMPLES["train"]
    split = _labels(num_examples)
    print(f"{num_examples:,} examples x {upstream.NUM_ANNOTATORS} annotators")
    ours = _best(lambda: stats.split_report(split), args.repeats)
    reference = _best(lambda: _reference(split), args.repeats)
    print(f"  ours       split_report              {ours:6.2f} s")
    print(f"  reference  agreement + np.add.at     {reference:6.2f} s")

    synset_ids = np.array(synsets.synsets())[split.clean_labels]
    names = np.char.add(np.char.add(synset_ids, "_"), np.arange(num_examples).astype(str))
    names = np.char.add(names, ".JPEG")
    seconds = _best(lambda: synsets.train_class_indices(names), args.repeats)
    print(f"  clean labels from {num_examples:,} train file names  {seconds:6.2f} s")


if __name__ == "__main__":
    main()
