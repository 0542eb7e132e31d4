"""The ImageNet-PI relabelling process: tempered resampling of annotator predictions.

Every annotator is a classifier with a predictive distribution `p` over the classes. For each
example it draws a temperature `T ~ Gamma(shape=1, rate=beta)` (so `E[T] = 1 / beta`), tempers
its distribution to `softmax(log(p) / T)`, draws its label from that, and reports `p[label]`,
its original probability of the label it gave, as its confidence. A small `beta` (hot
annotators) gives noisy labels; a large one gives each model's argmax.

Randomness is keyed by `(seed, annotator, block)`, where blocks are fixed runs of
`SAMPLING_BLOCK_ROWS` rows: a result depends on the seed, the annotator index and the row
index only, never on how the rows are chunked or spread over workers.

This module is the sampling maths of one annotator, numpy only; its public path is
`imagenet_pi.relabel`. The rest of `imagenet_pi.relabelling` is around it:
`parallel_sampling` (every annotator of a split, on all cores), `annotator_feature_table`
(accuracy and size of the annotators), `predictions_folder` (what is relabelled),
`relabelled_configs` (a predictions folder in, a config folder out).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import zlib
from collections.abc import Sequence

import numpy as np

from imagenet_pi.relabelling.errors import InvalidPredictionsError

# Rows that share one random stream. Part of the definition of the sampling: changing it
# changes every label drawn for a given seed.
SAMPLING_BLOCK_ROWS = 4096
# float32 softmax outputs over 1000 classes sum to 1 within ~1e-6; float16 ones within ~1e-3.
PROBABILITY_SUM_ATOL = 2e-3

Seed = int | Sequence[int]


def check_beta(beta: float) -> float:
    """`beta` as a float; ValueError unless it is a finite number > 0 (a str or bool is not).

    The one check of beta, for the relabel tool and for `ImagenetPiConfig`.
    """
    number = isinstance(beta, numbers.Real) and not isinstance(beta, bool)
    if not (number and math.isfinite(beta) and beta > 0):
        raise ValueError(
            f"beta must be a finite number > 0 (the rate of the Gamma(1, beta) temperature, "
            f"E[T] = 1/beta; upstream uses 0.1 and 0.5), got {beta!r}"
            + ("" if number else f" of type {type(beta).__name__}")
        )
    return float(beta)


def seed_entropy(seed: Seed) -> tuple[int, ...]:
    """The seed as a tuple of ints >= 0; raises ValueError for anything else."""
    if isinstance(seed, int | np.integer):
        entropy = (seed,)
    elif isinstance(seed, Sequence | np.ndarray) and not isinstance(seed, str | bytes):
        entropy = tuple(seed)
    else:
        entropy = ()
    if not entropy or not all(isinstance(s, int | np.integer) and s >= 0 for s in entropy):
        raise ValueError(f"seed must be an int >= 0 or a sequence of them, got {seed!r}")
    return tuple(int(s) for s in entropy)


def split_seed(seed: Seed, split: str) -> tuple[int, ...]:
    """The seed of one split, so that train and validation rows get independent draws."""
    return (*seed_entropy(seed), zlib.crc32(split.encode("utf-8")))


def block_generator(seed: Seed, annotator: int, block: int) -> np.random.Generator:
    """The random stream of one annotator on rows `block * SAMPLING_BLOCK_ROWS` onwards.

    Equal to `SeedSequence(seed).spawn(...)[annotator].spawn(...)[block]` (PCG64). As with
    any `SeedSequence`, trailing zeros of a sequence seed do not count: `(7, 0)` is `7`.
    """
    sequence = np.random.SeedSequence(seed_entropy(seed), spawn_key=(annotator, block))
    return np.random.Generator(np.random.PCG64(sequence))


def sample_temperatures(rng: np.random.Generator, beta: float, shape: int | tuple[int, ...]):
    """Temperatures `T ~ Gamma(shape=1, rate=beta)`, i.e. exponential with mean `1 / beta`.

    `beta` is the rate (inverse scale), as in `tf.random.gamma(shape, alpha=1, beta=beta)`.

    Returns:
      `shape` float64 array of positive temperatures.
    """
    beta = check_beta(beta)
    return np.asarray(rng.gamma(shape=1.0, scale=1.0 / beta, size=shape), dtype=np.float64)


def _working_dtype(dtype: np.dtype) -> type[np.floating]:
    """float32 for float16/float32 inputs (what the Keras models output), else float64."""
    return np.float64 if np.dtype(dtype).itemsize > 4 else np.float32


def _tempered_weights(log_probs: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Unnormalised softmax(log_probs / T) of `(n, C)` log-probabilities and `(n,)` T >= 0.

    The largest entry of each row is exactly 1; the result has the dtype of `log_probs`.
    """
    limits = np.finfo(log_probs.dtype)
    # Clipping keeps T = 0 (argmax) and T = inf (uniform over the support) free of 0/0.
    temperatures = np.clip(temperatures, limits.tiny, limits.max).astype(log_probs.dtype)
    # Shift so the largest entry is exactly 0: it stays 0 at any temperature.
    weights = log_probs - log_probs.max(axis=1, keepdims=True)
    with np.errstate(over="ignore", under="ignore"):
        weights /= temperatures[:, None]
        np.exp(weights, out=weights)
    return weights


def _checked_inputs(probs: np.ndarray, temperature: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 log-probabilities and temperatures, validated."""
    probs = np.asarray(probs, dtype=np.float64)
    temperature = np.asarray(temperature, dtype=np.float64)
    if probs.ndim != 2:
        raise InvalidPredictionsError(f"probs: expected shape (n, C), found {probs.shape}")
    if temperature.shape != probs.shape[:1]:
        raise ValueError(
            f"temperature: expected shape ({probs.shape[0]},) to match probs {probs.shape}, "
            f"found {temperature.shape}"
        )
    if np.isnan(temperature).any() or (temperature < 0).any():
        raise ValueError("temperature: expected values >= 0, found NaN or negative values")
    return _log_probabilities(probs, "probs", 0, from_logits=False), temperature


def tempered_distribution(probs: np.ndarray, temperature: np.ndarray) -> np.ndarray:
    """Each row of `probs` tempered by its temperature: `softmax(log(p) / T)`.

    Computed in log space: a class with `p == 0` keeps probability 0 at every temperature,
    `T -> 0` gives the one-hot argmax (ties split evenly), `T -> inf` the uniform
    distribution over the classes with `p > 0`.

    Args:
      probs: `(n, C)` probabilities, rows summing to 1.
      temperature: `(n,)` temperatures >= 0 (0 means the argmax).

    Returns:
      `(n, C)` float64 probabilities.
    """
    weights = _tempered_weights(*_checked_inputs(probs, temperature))
    return weights / weights.sum(axis=1, keepdims=True)


def _sample_categorical(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """One draw per row of `(n, C)` unnormalised `weights`, inverting the CDF at `(n,)` uniforms."""
    # float64 sums keep a class of tiny mass from being rounded away behind large ones.
    cdf = np.cumsum(weights, axis=1, dtype=np.float64)
    thresholds = uniforms * cdf[:, -1]
    # The first class whose CDF exceeds the threshold; zero-mass classes can never be it.
    return np.count_nonzero(cdf <= thresholds[:, None], axis=1)


def _first_bad_row(bad_rows: np.ndarray, first_row: int) -> int:
    return first_row + int(np.flatnonzero(bad_rows)[0])


def _log_probabilities(
    values: np.ndarray, name: str, first_row: int, *, from_logits: bool
) -> np.ndarray:
    """Validated `(n, C)` log-probabilities, in the dtype of `values`, from probs or logits.

    `first_row` is the row index of `values[0]` in `name`, for error messages.
    """
    if np.isnan(values).any():
        row = _first_bad_row(np.isnan(values).any(axis=1), first_row)
        raise InvalidPredictionsError(f"{name}: row {row}: expected numbers, found NaN")
    if from_logits:
        if np.isposinf(values).any():
            row = _first_bad_row(np.isposinf(values).any(axis=1), first_row)
            raise InvalidPredictionsError(f"{name}: row {row}: expected finite logits, found +inf")
        top = values.max(axis=1, keepdims=True)
        if np.isneginf(top).any():
            row = _first_bad_row(np.isneginf(top[:, 0]), first_row)
            raise InvalidPredictionsError(
                f"{name}: row {row}: expected at least one finite logit, found all -inf"
            )
        log_probs = values - top
        log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
        return log_probs
    if (values < 0).any():
        row = _first_bad_row((values < 0).any(axis=1), first_row)
        raise InvalidPredictionsError(
            f"{name}: row {row}: expected probabilities >= 0, found negative values. "
            "If the file holds logits, pass from_logits=True (--from-logits)."
        )
    sums = values.sum(axis=1)
    bad_sums = ~(np.abs(sums - 1.0) <= PROBABILITY_SUM_ATOL)
    if bad_sums.any():
        row = _first_bad_row(bad_sums, first_row)
        raise InvalidPredictionsError(
            f"{name}: row {row}: expected probabilities summing to 1 (within "
            f"{PROBABILITY_SUM_ATOL}), found a sum of {sums[row - first_row]:.6g}. "
            "If the file holds logits, pass from_logits=True (--from-logits); otherwise "
            "normalise the rows."
        )
    with np.errstate(divide="ignore"):
        return np.log(values)


@dataclasses.dataclass(frozen=True)
class Process:
    """The parameters of one relabelling run."""

    beta: float
    seed: Seed
    from_logits: bool


def relabel_rows(
    process: Process,
    annotator: int,
    name: str,
    values: np.ndarray,
    start: int,
    stop: int,
    labels_out: np.ndarray,
    confidences_out: np.ndarray,
) -> None:
    """Relabels rows `start:stop` of one annotator into `labels_out`/`confidences_out`.

    `start` is a multiple of `SAMPLING_BLOCK_ROWS`; each block uses its own generator, which
    draws `SAMPLING_BLOCK_ROWS` temperatures, then as many uniforms (one a row, for the label).
    """
    from_logits = process.from_logits
    for block_start in range(start, stop, SAMPLING_BLOCK_ROWS):
        block_stop = min(block_start + SAMPLING_BLOCK_ROWS, stop)
        block = np.array(values[block_start:block_stop], dtype=_working_dtype(values.dtype))
        log_probs = _log_probabilities(block, name, block_start, from_logits=from_logits)
        rng = block_generator(process.seed, annotator, block_start // SAMPLING_BLOCK_ROWS)
        # Whole-block draws: a row's draws do not depend on how many rows follow it.
        temperatures = sample_temperatures(rng, process.beta, SAMPLING_BLOCK_ROWS)[: len(block)]
        uniforms = rng.random(SAMPLING_BLOCK_ROWS)[: len(block)]
        labels = _sample_categorical(_tempered_weights(log_probs, temperatures), uniforms)
        rows = np.arange(len(block))
        confidences = np.exp(log_probs[rows, labels]) if from_logits else block[rows, labels]
        labels_out[block_start:block_stop] = labels
        confidences_out[block_start:block_stop] = confidences


def relabel(
    predictions: np.ndarray,
    beta: float,
    seed: Seed,
    *,
    from_logits: bool = False,
    annotator: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and confidences of one annotator, drawn by the relabelling process.

    Gives the same draws as column `annotator` of `parallel_sampling.relabel_split` with the
    same seed.

    Args:
      predictions: `(n, C)` probabilities (rows summing to 1) or, with `from_logits`, logits.
      beta: rate of the Gamma(1, beta) temperature; upstream uses 0.1 (high_noise) and 0.5.
      seed: int >= 0 or a sequence of them.
      from_logits: whether `predictions` holds logits rather than probabilities.
      annotator: index of the annotator, which selects its random stream.

    Returns:
      labels `(n,) int64` in `[0, C)`, confidences `(n,) float64`: the original probability
      of each drawn label.
    """
    beta = check_beta(beta)
    seed_entropy(seed)
    if annotator < 0:
        raise ValueError(f"annotator must be an index >= 0, got {annotator}")
    values = np.asarray(predictions)
    check_predictions_array(values, "predictions")
    labels = np.empty(len(values), np.int64)
    confidences = np.empty(len(values), np.float64)
    process = Process(beta, seed, from_logits)
    relabel_rows(process, annotator, "predictions", values, 0, len(values), labels, confidences)
    return labels, confidences


def check_predictions_array(values: np.ndarray, name: str) -> None:
    """Raises InvalidPredictionsError unless `values` is a 2-D float array."""
    if values.ndim != 2:
        raise InvalidPredictionsError(
            f"{name}: expected shape (num_examples, num_classes), found {values.shape}"
        )
    if not np.issubdtype(values.dtype, np.floating):
        raise InvalidPredictionsError(
            f"{name}: expected floating-point probabilities or logits, found dtype {values.dtype}"
        )
