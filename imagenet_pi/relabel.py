"""The ImageNet-PI relabelling process: tempered resampling of annotator predictions.

Every annotator is a classifier with a predictive distribution `p` over the classes. For each
example it draws a temperature `T ~ Gamma(shape=1, rate=beta)` (so `E[T] = 1 / beta`), tempers
its distribution to `softmax(log(p) / T)`, draws its label from that, and reports `p[label]`,
its original probability of the label it gave, as its confidence. A small `beta` (hot
annotators) gives noisy labels; a large one gives each model's argmax.

Randomness is keyed by `(seed, annotator, block)`, where blocks are fixed runs of
`SAMPLING_BLOCK_ROWS` rows: a result depends on the seed, the annotator index and the row
index only, never on how the rows are chunked or spread over workers.

Predictions of one split live in a folder (see `relabel_config`, written by
`imagenet_pi.annotator_models`): `file_names.txt` (one image file name a line), `<Model>.npy`
(an `(N, 1000)` array per annotator model) and, to compute annotator features,
`clean_labels.npy` and `parameter_counts.json`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import math
import numbers
import os
import pathlib
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import tqdm

from imagenet_pi import annotations, upstream

# Rows that share one random stream. Part of the definition of the sampling: changing it
# changes every label drawn for a given seed.
SAMPLING_BLOCK_ROWS = 4096
DEFAULT_CHUNK_ROWS = 65_536
# float32 softmax outputs over 1000 classes sum to 1 within ~1e-6; float16 ones within ~1e-3.
PROBABILITY_SUM_ATOL = 2e-3

FILE_NAMES_FILE = "file_names.txt"
CLEAN_LABELS_FILE = "clean_labels.npy"
PARAMETER_COUNTS_FILE = "parameter_counts.json"
# How a config folder was made: beta, seed, models (column order), ... (`relabel_config`).
METADATA_FILE = "relabel.json"

Seed = int | Sequence[int]


class InvalidPredictionsError(ValueError):
    """Annotator predictions (probabilities or logits) that cannot be relabelled."""


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


def _seed_entropy(seed: Seed) -> tuple[int, ...]:
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
    return (*_seed_entropy(seed), zlib.crc32(split.encode("utf-8")))


def block_generator(seed: Seed, annotator: int, block: int) -> np.random.Generator:
    """The random stream of one annotator on rows `block * SAMPLING_BLOCK_ROWS` onwards.

    Equal to `SeedSequence(seed).spawn(...)[annotator].spawn(...)[block]` (PCG64). As with
    any `SeedSequence`, trailing zeros of a sequence seed do not count: `(7, 0)` is `7`.
    """
    sequence = np.random.SeedSequence(_seed_entropy(seed), spawn_key=(annotator, block))
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


def sample_labels(
    rng: np.random.Generator, probs: np.ndarray, temperature: np.ndarray
) -> np.ndarray:
    """One label per row drawn from `softmax(log(p) / T)`, at given temperatures.

    Args:
      rng: source of one uniform number per row.
      probs: `(n, C)` probabilities, rows summing to 1.
      temperature: `(n,)` temperatures >= 0.

    Returns:
      `(n,) int64` class indices; a class with `p == 0` is never drawn.
    """
    log_probs, temperature = _checked_inputs(probs, temperature)
    return _sample_categorical(_tempered_weights(log_probs, temperature), rng.random(len(probs)))


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
class _Process:
    """The parameters of one relabelling run."""

    beta: float
    seed: Seed
    from_logits: bool


def _relabel_rows(
    process: _Process,
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

    Gives the same draws as column `annotator` of `relabel_split` with the same seed.

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
    _seed_entropy(seed)
    if annotator < 0:
        raise ValueError(f"annotator must be an index >= 0, got {annotator}")
    values = np.asarray(predictions)
    _check_predictions_array(values, "predictions")
    labels = np.empty(len(values), np.int64)
    confidences = np.empty(len(values), np.float64)
    process = _Process(beta, seed, from_logits)
    _relabel_rows(process, annotator, "predictions", values, 0, len(values), labels, confidences)
    return labels, confidences


def _check_predictions_array(values: np.ndarray, name: str) -> None:
    if values.ndim != 2:
        raise InvalidPredictionsError(
            f"{name}: expected shape (num_examples, num_classes), found {values.shape}"
        )
    if not np.issubdtype(values.dtype, np.floating):
        raise InvalidPredictionsError(
            f"{name}: expected floating-point probabilities or logits, found dtype {values.dtype}"
        )


def _open_predictions(source: str | os.PathLike | np.ndarray, index: int):
    """`(name, (N, C) array)` of one annotator; files are memory-mapped, not read."""
    if isinstance(source, np.ndarray):
        name = f"predictions[{index}]"
        values = source
    else:
        name = os.fspath(source)
        try:
            values = np.load(name, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise InvalidPredictionsError(
                f"{name}: expected a .npy file of shape (num_examples, num_classes) written by "
                f"numpy.save, could not read it: {error}"
            ) from error
        if not isinstance(values, np.ndarray):
            raise InvalidPredictionsError(f"{name}: expected a .npy array, found an .npz archive")
    _check_predictions_array(values, name)
    return name, values


def relabel_split(
    predictions: Sequence[str | os.PathLike | np.ndarray],
    file_names: Sequence[str] | np.ndarray,
    beta: float,
    seed: Seed,
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
    beta = check_beta(beta)
    _seed_entropy(seed)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not predictions:
        raise ValueError("predictions: expected one array or .npy file per annotator, found none")
    sources = [_open_predictions(source, index) for index, source in enumerate(predictions)]
    num_examples = len(file_names)
    num_classes = sources[0][1].shape[1]
    for name, values in sources:
        if values.shape != (num_examples, num_classes):
            raise InvalidPredictionsError(
                f"{name}: expected shape ({num_examples}, {num_classes}) (one row per file name, "
                f"as many classes as {sources[0][0]}), found {values.shape}"
            )
    if num_classes > np.iinfo(np.int16).max + 1:
        raise InvalidPredictionsError(
            f"{sources[0][0]}: at most 32768 classes fit int16 labels, found {num_classes}"
        )

    labels = np.empty((num_examples, len(sources)), np.int16)
    confidences = np.empty((num_examples, len(sources)), np.float32)
    chunk_rows = math.ceil(chunk_size / SAMPLING_BLOCK_ROWS) * SAMPLING_BLOCK_ROWS
    tasks = [
        (annotator, start, min(start + chunk_rows, num_examples))
        for start in range(0, num_examples, chunk_rows)
        for annotator in range(len(sources))
    ]
    process = _Process(beta, seed, from_logits)
    workers = num_workers or _available_cores()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [
            pool.submit(
                _relabel_rows,
                process,
                annotator,
                *sources[annotator],
                start,
                stop,
                labels[:, annotator],
                confidences[:, annotator],
            )
            for annotator, start, stop in tasks
        ]
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
    return labels, confidences


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use, not the machine's
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def annotator_accuracies(
    predictions: Sequence[str | os.PathLike | np.ndarray],
    clean_labels: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
) -> np.ndarray:
    """Top-1 accuracy of each annotator's argmax against the clean labels.

    Args:
      predictions: one `(N, C)` array or `.npy` path per annotator (probabilities or logits).
      clean_labels: `(N,)` integer class indices.

    Returns:
      `(num_annotators,) float64` accuracies in [0, 1].
    """
    clean_labels = np.asarray(clean_labels)
    if clean_labels.ndim != 1 or len(clean_labels) == 0:
        raise ValueError(
            f"clean_labels: expected shape (N,) with N > 0, found {clean_labels.shape}"
        )
    accuracies = []
    for index, source in enumerate(predictions):
        name, values = _open_predictions(source, index)
        if len(values) != len(clean_labels):
            raise InvalidPredictionsError(
                f"{name}: expected {len(clean_labels)} rows (one per clean label), "
                f"found {len(values)}"
            )
        correct = 0
        for start in range(0, len(values), chunk_size):
            top1 = np.argmax(values[start : start + chunk_size], axis=1)
            correct += int(np.count_nonzero(top1 == clean_labels[start : start + chunk_size]))
        accuracies.append(correct / len(values))
    return np.array(accuracies, np.float64)


def _z_score(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    if spread == 0:
        return np.zeros_like(values)
    return (values - values.mean()) / spread


def annotator_features_from_accuracy(
    accuracies: Sequence[float] | np.ndarray, parameter_counts: Sequence[float] | np.ndarray
) -> np.ndarray:
    """The annotator feature table of upstream's `annotator_features.csv`.

    Row `a`: (z-scored accuracy, z-scored log parameter count) of annotator `a`, z-scored over
    the annotators (population standard deviation; a constant column gives zeros).

    Args:
      accuracies: `(A,)` top-1 accuracies in [0, 1].
      parameter_counts: `(A,)` parameter counts > 0.

    Returns:
      `(A, 2) float32`.
    """
    accuracies = np.asarray(accuracies, np.float64)
    parameter_counts = np.asarray(parameter_counts, np.float64)
    if accuracies.ndim != 1 or accuracies.shape != parameter_counts.shape:
        raise ValueError(
            f"accuracies and parameter_counts: expected two (A,) arrays of one length, "
            f"found {accuracies.shape} and {parameter_counts.shape}"
        )
    if not np.all((accuracies >= 0) & (accuracies <= 1)):
        raise ValueError(f"accuracies: expected values in [0, 1], found {accuracies}")
    if not np.all(np.isfinite(parameter_counts) & (parameter_counts > 0)):
        raise ValueError(f"parameter_counts: expected finite values > 0, found {parameter_counts}")
    features = np.stack([_z_score(accuracies), _z_score(np.log(parameter_counts))], axis=1)
    return features.astype(np.float32)


def _checked_annotator_features(annotator_features: np.ndarray) -> np.ndarray:
    annotator_features = np.asarray(annotator_features, np.float32)
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if annotator_features.shape != expected_shape:
        raise ValueError(
            f"annotator_features: expected shape {expected_shape} (an ImageNet-PI config has "
            f"{upstream.NUM_ANNOTATORS} annotators), found {annotator_features.shape}"
        )
    if not np.all(np.isfinite(annotator_features)):
        raise ValueError("annotator_features: expected finite numbers, found NaN or inf")
    return annotator_features


def write_relabelled_config(
    out_dir: str | os.PathLike,
    splits: Mapping[str, tuple[Sequence[str] | np.ndarray, np.ndarray, np.ndarray]],
    annotator_features: np.ndarray,
) -> None:
    """Writes a config folder in the upstream layout (readable as a custom builder config).

    Rows are written in the order given; `annotations.read_split` returns them sorted by
    file name.

    Args:
      out_dir: the config folder; gets `labels/<split>.csv`, `confidences/<split>.csv` and
        `annotator_features.csv`.
      splits: split name ('train', 'validation') -> (file names `(N,)`, labels `(N, 16)` class
        indices in [0, 1000), confidences `(N, 16)` in [0, 1]).
      annotator_features: `(16, 2)` float, row `a` describing annotator (column) `a`.
    """
    num_annotators = upstream.NUM_ANNOTATORS
    annotator_features = _checked_annotator_features(annotator_features)
    for split, (_, labels, _) in splits.items():
        if split not in upstream.SPLITS:
            raise ValueError(f"splits: expected names in {upstream.SPLITS}, found {split!r}")
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[1] != num_annotators:
            raise ValueError(
                f"{split}: expected labels of shape (N, {num_annotators}) (an ImageNet-PI config "
                f"has {num_annotators} annotators), found {labels.shape}"
            )
        if labels.size and not (labels.min() >= 0 and labels.max() < upstream.NUM_CLASSES):
            raise ValueError(
                f"{split}: expected labels in [0, {upstream.NUM_CLASSES}) (ILSVRC2012 classes), "
                f"found [{labels.min()}, {labels.max()}]; predictions must have "
                f"{upstream.NUM_CLASSES} columns in sorted-synset order"
            )
    for split, (file_names, labels, confidences) in splits.items():
        annotations.write_split(out_dir, split, file_names, labels, confidences)
    annotations.write_annotator_features(out_dir, annotator_features)


def predictions_path(split_dir: str | os.PathLike, model: str) -> pathlib.Path:
    """Where the predictions of one annotator model over one split live."""
    return pathlib.Path(split_dir) / f"{model}.npy"


def read_file_names(split_dir: str | os.PathLike) -> np.ndarray:
    """The `(N,)` file names of `<split_dir>/file_names.txt`, one a line."""
    path = pathlib.Path(split_dir) / FILE_NAMES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected the image file names of the predictions, one a line; not found"
        )
    names = path.read_text(encoding="utf-8").splitlines()
    return np.array(names, dtype=object)


def read_parameter_counts(split_dir: str | os.PathLike, models: Sequence[str]) -> np.ndarray:
    """`(A,) float64` parameter counts of `models` from `<split_dir>/parameter_counts.json`."""
    path = pathlib.Path(split_dir) / PARAMETER_COUNTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: expected {{model name: parameter count}} (written by "
            "imagenet_pi.annotator_models), not found; pass annotator features explicitly"
        )
    counts = json.loads(path.read_text(encoding="utf-8"))
    missing = [model for model in models if model not in counts]
    if missing:
        raise ValueError(f"{path}: expected parameter counts of {missing}, not found")
    return np.array([counts[model] for model in models], np.float64)


def read_metadata(config_dir: str | os.PathLike) -> dict | None:
    """The `relabel.json` that `relabel_config` wrote in a config folder; None if absent."""
    path = pathlib.Path(config_dir) / METADATA_FILE
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: line {error.lineno}: expected the JSON that `imagenet-pi relabel` writes, "
            f"found invalid JSON ({error.msg}); fix or delete the file"
        ) from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(metadata).__name__}")
    return metadata


def relabel_config(
    predictions_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    beta: float,
    seed: Seed,
    *,
    splits: Sequence[str] = upstream.SPLITS,
    models: Sequence[str] = upstream.ANNOTATOR_MODELS,
    from_logits: bool = False,
    annotator_features: np.ndarray | None = None,
    accuracy_split: str = "validation",
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    num_workers: int | None = None,
    progress: bool = False,
) -> None:
    """Relabels every split of `predictions_dir` and writes a config folder to `out_dir`.

    `predictions_dir/<split>/` holds `file_names.txt` and `<Model>.npy` for each of the 16
    `models` (column `a` of the output is `models[a]`), `(N, 1000)` probabilities (or logits
    with `from_logits`). Each split uses the seed `split_seed(seed, split)`. Besides the CSVs,
    `out_dir/relabel.json` records beta, seed, models (column order) and splits.

    Without `annotator_features`, they are computed from each model's top-1 accuracy on
    `accuracy_split` (needs `<accuracy_split>/clean_labels.npy`) and its parameter count
    (`<accuracy_split>/parameter_counts.json`), as `imagenet_pi.annotator_models` writes them.
    """
    predictions_dir = pathlib.Path(predictions_dir)
    if len(models) != upstream.NUM_ANNOTATORS:
        raise ValueError(
            f"models: expected {upstream.NUM_ANNOTATORS} annotator model names (one per column "
            f"of an ImageNet-PI config), found {len(models)}"
        )
    unknown = [split for split in splits if split not in upstream.SPLITS]
    if unknown:
        raise ValueError(f"splits: expected names in {upstream.SPLITS}, found {unknown}")
    if not splits:
        raise ValueError(f"splits: expected at least one of {upstream.SPLITS}, found none")
    # Everything cheap is checked before the long relabelling starts.
    split_paths = {split: _model_paths(predictions_dir / split, models) for split in splits}
    split_file_names = {split: read_file_names(predictions_dir / split) for split in splits}
    if annotator_features is None:
        annotator_features = _features_from_predictions(predictions_dir / accuracy_split, models)
    annotator_features = _checked_annotator_features(annotator_features)
    relabelled = {}
    for split in splits:
        labels, confidences = relabel_split(
            split_paths[split],
            split_file_names[split],
            beta,
            split_seed(seed, split),
            from_logits=from_logits,
            chunk_size=chunk_size,
            num_workers=num_workers,
            progress=progress,
        )
        relabelled[split] = (split_file_names[split], labels, confidences)
    write_relabelled_config(out_dir, relabelled, annotator_features)
    metadata = {
        "beta": float(beta),
        "seed": seed if isinstance(seed, int) else list(_seed_entropy(seed)),
        "models": list(models),
        "from_logits": from_logits,
        "splits": list(splits),
        "predictions_dir": os.fspath(predictions_dir.resolve()),
    }
    (pathlib.Path(out_dir) / METADATA_FILE).write_text(json.dumps(metadata, indent=1), "utf-8")


def _model_paths(split_dir: pathlib.Path, models: Sequence[str]) -> list[pathlib.Path]:
    paths = [predictions_path(split_dir, model) for model in models]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{split_dir}: expected one <Model>.npy of predictions per annotator model, "
            f"missing {missing}"
        )
    return paths


def _features_from_predictions(split_dir: pathlib.Path, models: Sequence[str]) -> np.ndarray:
    clean_labels_path = split_dir / CLEAN_LABELS_FILE
    if not clean_labels_path.is_file():
        raise FileNotFoundError(
            f"{clean_labels_path}: expected the clean labels to measure annotator accuracy, "
            "not found; pass annotator features explicitly (e.g. the upstream "
            "annotator_features.csv) or predict a split that has labels"
        )
    parameter_counts = read_parameter_counts(split_dir, models)
    clean_labels = np.load(clean_labels_path, allow_pickle=False)
    accuracies = annotator_accuracies(_model_paths(split_dir, models), clean_labels)
    return annotator_features_from_accuracy(accuracies, parameter_counts)
