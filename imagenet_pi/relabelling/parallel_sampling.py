"""Relabelling every annotator of a split, in chunks of rows, on all cores.

The draws are those of `temperature_sampling.relabel` for each annotator: randomness is keyed
by (seed, annotator, block of `SAMPLING_BLOCK_ROWS` rows), so chunking and threads change
memory use and speed, never the result.
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import tqdm

from imagenet_pi.relabelling import predictions_folder, temperature_sampling
from imagenet_pi.relabelling.errors import InvalidPredictionsError
from imagenet_pi.relabelling.temperature_sampling import SAMPLING_BLOCK_ROWS

DEFAULT_CHUNK_ROWS = 65_536


def relabel_split(
    predictions: Sequence[str | os.PathLike | np.ndarray],
    file_names: Sequence[str] | np.ndarray,
    beta: float,
    seed: temperature_sampling.Seed,
    *,
    from_logits: bool = False,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    num_workers: int | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Relabels one split by every annotator, in chunks of rows, on all cores.

    Files are memory-mapped and each worker reads `SAMPLING_BLOCK_ROWS` rows at a time, so
    the `(N, C)` predictions of the annotators never sit in memory together (a worker holds a
    few `(4096, C)` arrays). Rows are validated as they are read.

    Args:
      predictions: one `(N, C)` float array per annotator, as a `.npy` path or an array;
        probabilities, or logits with `from_logits`. Column `a` of the result is annotator `a`.
      file_names: the N image file names the rows describe (only their count is checked).
      beta: rate of the Gamma(1, beta) temperature, > 0.
      seed: int >= 0 or a sequence of them.
      from_logits: whether the predictions are logits.
      chunk_size: rows per task, rounded up to a multiple of `SAMPLING_BLOCK_ROWS`; changes
        memory use and scheduling only, never the result.
      num_workers: threads (numpy releases the GIL in the heavy loops); default all cores.
      progress: show a tqdm progress bar.

    Returns:
      labels `(N, num_annotators) int16`, confidences `(N, num_annotators) float32`.
    """
    beta = temperature_sampling.check_beta(beta)
    temperature_sampling.seed_entropy(seed)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not predictions:
        raise ValueError("predictions: expected one array or .npy file per annotator, found none")
    sources = _open_split_predictions(predictions, len(file_names))
    num_examples = len(file_names)
    labels = np.empty((num_examples, len(sources)), np.int16)
    confidences = np.empty((num_examples, len(sources)), np.float32)
    chunk_rows = math.ceil(chunk_size / SAMPLING_BLOCK_ROWS) * SAMPLING_BLOCK_ROWS
    process = temperature_sampling.Process(beta, seed, from_logits)
    tasks = [
        functools.partial(
            temperature_sampling.relabel_rows,
            process,
            annotator,
            *sources[annotator],
            start,
            min(start + chunk_rows, num_examples),
            labels[:, annotator],
            confidences[:, annotator],
        )
        for start in range(0, num_examples, chunk_rows)
        for annotator in range(len(sources))
    ]
    _run_in_threads(tasks, num_workers or _available_cores(), progress)
    return labels, confidences


def _open_split_predictions(
    predictions: Sequence[str | os.PathLike | np.ndarray], num_examples: int
) -> list[tuple[str, np.ndarray]]:
    """`(name, (N, C) array)` of every annotator, checked to share one shape."""
    sources = [
        predictions_folder.open_predictions(source, index)
        for index, source in enumerate(predictions)
    ]
    first_name, first_values = sources[0]
    num_classes = first_values.shape[1]
    for name, values in sources:
        if values.shape != (num_examples, num_classes):
            raise InvalidPredictionsError(
                f"{name}: expected shape ({num_examples}, {num_classes}) (one row per file name, "
                f"as many classes as {first_name}), found {values.shape}"
            )
    if num_classes > np.iinfo(np.int16).max + 1:
        raise InvalidPredictionsError(
            f"{first_name}: at most 32768 classes fit int16 labels, found {num_classes}"
        )
    return sources


def _run_in_threads(tasks: list[Callable[[], None]], workers: int, progress: bool) -> None:
    """Runs every task on `workers` threads; the first error cancels the rest and is raised."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(task) for task in tasks]
        bar = tqdm.tqdm(total=len(tasks), unit="chunk", desc="relabelling", disable=not progress)
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            bar.close()


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use, not the machine's
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
