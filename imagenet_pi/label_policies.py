"""Training labels from the 16 annotator labels: which annotators a batch uses, and its label.

A label policy looks at a batch of annotations and decides two things: which
annotators each example keeps (their PI goes into `pi_features`) and the training
`label`. Policies are small frozen dataclasses with one method, `select`, written
in vectorised numpy so that they run the same way after any back end.

Every random choice is a pure function of `(seed, example key, epoch)`: the
example key is a 64-bit hash of the file name (the same in every back end and
every shard layout) and the epoch (how many times the example was seen before)
only counts when a policy re-draws each epoch. So the same seed gives the same
labels for the same examples, whatever the order they come in.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from imagenet_pi import upstream

Strategy = Literal["uniform", "best", "worst"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a policy chose for a batch.

    Attributes:
      annotators: `(batch, num_selected) int32` annotator (column) indices, in 0..15.
      label: `(batch,)` or `(batch, num_selected)` int32 training labels (class indices).
    """

    annotators: np.ndarray
    label: np.ndarray


class LabelPolicy(Protocol):
    """Chooses annotators and training labels for a batch."""

    def select(
        self,
        annotator_labels: np.ndarray,
        clean_label: np.ndarray,
        example_keys: np.ndarray,
        epochs: np.ndarray,
    ) -> Selection:
        """Args: `(batch, 16)` int annotator labels, `(batch,)` int clean labels,
        `(batch,)` uint64 example keys (see `example_keys`), `(batch,)` int epochs."""
        ...


def example_keys(file_names: Sequence[str | bytes] | np.ndarray) -> np.ndarray:
    """Stable 64-bit keys of examples: `(batch,) uint64`, a blake2b hash of each file name."""
    keys = np.empty(len(file_names), np.uint64)
    for i, name in enumerate(file_names):
        data = name.encode() if isinstance(name, str) else bytes(name)
        keys[i] = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    return keys


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixed hash of uint64 values."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(seed: int, keys: np.ndarray, epochs: np.ndarray | int, num: int) -> np.ndarray:
    """`(len(keys), num) float64` uniforms in [0, 1), a pure function of (seed, key, epoch, column).

    A counter-based generator: the same arguments give the same numbers in any
    process and any batch composition.
    """
    keys = np.asarray(keys, np.uint64)
    epochs = np.broadcast_to(np.asarray(epochs).astype(np.uint64), keys.shape)
    with np.errstate(over="ignore"):
        state = _mix(np.uint64(seed % 2**64) * _GOLDEN + np.uint64(1))
        state = _mix(_mix(keys ^ state) + epochs * _GOLDEN)
        counters = np.arange(1, num + 1, dtype=np.uint64) * _GOLDEN
        bits = _mix(state[:, None] + counters[None, :])
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _gather_labels(annotator_labels: np.ndarray, annotators: np.ndarray) -> np.ndarray:
    return np.take_along_axis(np.asarray(annotator_labels), annotators, axis=1).astype(np.int32)


def _all_annotators(batch_size: int) -> np.ndarray:
    return np.broadcast_to(
        np.arange(upstream.NUM_ANNOTATORS, dtype=np.int32), (batch_size, upstream.NUM_ANNOTATORS)
    )


@dataclasses.dataclass(frozen=True)
class AllAnnotators:
    """Every annotator: label `(batch, 16)`; train on each (loss averaged over annotators)."""

    def select(self, annotator_labels, clean_label, example_keys, epochs) -> Selection:
        annotators = _all_annotators(len(annotator_labels))
        return Selection(annotators, np.asarray(annotator_labels, np.int32))


@dataclasses.dataclass(frozen=True)
class AnnotatorSubset:
    """k annotators per example: label `(batch, k)`, PI of those k only.

    Attributes:
      k: annotators kept per example, 1..16.
      strategy: "uniform" draws k distinct annotators per example with the seed;
        "best" / "worst" keep the k annotators with the highest / lowest accuracy
        (`annotator_features[:, 0]`), the same for every example (ties go to the
        lower index), so the seed plays no part.
      accuracy: `(16,)` annotator accuracies; needed by "best" and "worst".
      seed: seeds "uniform".
      redraw_each_epoch: False keeps each example's draw for the whole run (a
        function of seed and example); True draws again each time the example is
        seen (a function of seed, example and epoch).
    """

    k: int
    strategy: Strategy = "uniform"
    accuracy: tuple[float, ...] | None = None
    seed: int = 0
    redraw_each_epoch: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.k <= upstream.NUM_ANNOTATORS:
            raise ValueError(f"k must be in 1..{upstream.NUM_ANNOTATORS}, got {self.k}")
        if self.strategy not in ("uniform", "best", "worst"):
            raise ValueError(f"strategy must be uniform, best or worst, got {self.strategy!r}")
        if self.strategy != "uniform" and (
            self.accuracy is None or len(self.accuracy) != upstream.NUM_ANNOTATORS
        ):
            raise ValueError(
                f"strategy {self.strategy!r} ranks annotators by accuracy: pass accuracy, "
                f"{upstream.NUM_ANNOTATORS} values (annotator_features[:, 0]), got {self.accuracy}"
            )

    def select(self, annotator_labels, clean_label, example_keys, epochs) -> Selection:
        batch_size = len(annotator_labels)
        if self.strategy == "uniform":
            draws = uniforms(
                self.seed,
                example_keys,
                epochs if self.redraw_each_epoch else 0,
                upstream.NUM_ANNOTATORS,
            )
            annotators = np.argsort(draws, axis=1, kind="stable")[:, : self.k]
        else:
            accuracy = np.asarray(self.accuracy, np.float64)
            order = np.argsort(-accuracy if self.strategy == "best" else accuracy, kind="stable")
            annotators = np.broadcast_to(order[: self.k], (batch_size, self.k))
        annotators = annotators.astype(np.int32)
        return Selection(annotators, _gather_labels(annotator_labels, annotators))


@dataclasses.dataclass(frozen=True)
class RandomAnnotator:
    """One annotator per example, drawn uniformly with the seed: label `(batch,)`, PI `(batch, 1)`.

    `redraw_each_epoch` as in `AnnotatorSubset`.
    """

    seed: int = 0
    redraw_each_epoch: bool = False

    def select(self, annotator_labels, clean_label, example_keys, epochs) -> Selection:
        draws = uniforms(self.seed, example_keys, epochs if self.redraw_each_epoch else 0, 1)
        annotators = np.minimum(
            (draws * upstream.NUM_ANNOTATORS).astype(np.int32), upstream.NUM_ANNOTATORS - 1
        )
        return Selection(annotators, _gather_labels(annotator_labels, annotators)[:, 0])


def majority_vote(annotator_labels: np.ndarray) -> np.ndarray:
    """The most frequent label of each row: `(N,) int32` from `(N, A)` int class indices.

    Ties go to the smallest class index among the most frequent labels, so the vote does not
    depend on the column order. The one majority vote of the package: the `majority` policy
    trains on it and `stats` reports its agreement with the clean label.
    """
    # Sorted rows hold equal labels in runs; the first longest run is the smallest of the
    # most frequent labels. Column-wise passes over (A, N) keep it fast at 1.28M x 16.
    ordered = np.sort(np.asarray(annotator_labels), axis=1).T.copy()
    run_lengths = np.ones(ordered.shape, np.int16)
    for column in range(1, len(ordered)):
        continues = ordered[column] == ordered[column - 1]
        np.add(run_lengths[column - 1], 1, out=run_lengths[column], where=continues)
    longest_run_end = np.argmax(run_lengths, axis=0)
    return ordered[longest_run_end, np.arange(ordered.shape[1])].astype(np.int32)


@dataclasses.dataclass(frozen=True)
class MajorityVote:
    """The majority vote of the 16 annotators: label `(batch,)`, PI of all 16.

    Ties go to the smallest class index among the tied labels.
    """

    def select(self, annotator_labels, clean_label, example_keys, epochs) -> Selection:
        annotators = _all_annotators(len(annotator_labels))
        return Selection(annotators, majority_vote(annotator_labels))


@dataclasses.dataclass(frozen=True)
class CleanLabel:
    """The original ILSVRC2012 label: label `(batch,)`, PI of all 16 annotators."""

    def select(self, annotator_labels, clean_label, example_keys, epochs) -> Selection:
        annotators = _all_annotators(len(annotator_labels))
        return Selection(annotators, np.asarray(clean_label, np.int32))


POLICY_NAMES = ("all", "subset", "random_annotator", "majority", "clean")


def make_policy(
    name: str,
    *,
    k: int | None = None,
    strategy: Strategy = "uniform",
    annotator_features: np.ndarray | None = None,
    seed: int = 0,
    redraw_each_epoch: bool = False,
) -> LabelPolicy:
    """The policy called `name` (one of `POLICY_NAMES`).

    Args:
      name: "all", "subset" (needs `k`), "random_annotator", "majority" or "clean".
      k: annotators per example for "subset".
      strategy: "uniform", "best" or "worst", for "subset".
      annotator_features: `(16, 2) float32`; column 0 (accuracy) ranks annotators
        for "best" and "worst".
      seed: seeds the random policies.
      redraw_each_epoch: random policies draw again each epoch.
    """
    if name == "all":
        return AllAnnotators()
    if name == "subset":
        if k is None:
            raise ValueError("label_policy 'subset' needs num_annotators_per_example (k)")
        accuracy = None
        if annotator_features is not None:
            accuracy = tuple(float(a) for a in np.asarray(annotator_features)[:, 0])
        return AnnotatorSubset(
            k, strategy, accuracy=accuracy, seed=seed, redraw_each_epoch=redraw_each_epoch
        )
    if name == "random_annotator":
        return RandomAnnotator(seed=seed, redraw_each_epoch=redraw_each_epoch)
    if name == "majority":
        return MajorityVote()
    if name == "clean":
        return CleanLabel()
    raise ValueError(f"label_policy must be one of {', '.join(POLICY_NAMES)}, got {name!r}")
