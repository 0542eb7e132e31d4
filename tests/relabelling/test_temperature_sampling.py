"""The relabelling process of one annotator: temperatures, tempering, sampling, determinism,
errors."""

from __future__ import annotations

import numpy as np
import pytest
from relabel_inputs import random_probabilities, softmax
from scipy import integrate, special, stats

from imagenet_pi.relabelling import temperature_sampling
from imagenet_pi.relabelling.errors import InvalidPredictionsError

# Fixed seeds make every statistical test deterministic; thresholds are for a correct sampler.
SIGNIFICANCE = 1e-4


def _chi_square_pvalue(labels: np.ndarray, expected_probs: np.ndarray) -> float:
    observed = np.bincount(labels, minlength=len(expected_probs))
    support = expected_probs > 0
    assert observed[~support].sum() == 0, "drew a class of probability 0"
    expected = expected_probs[support] * len(labels)
    return stats.chisquare(observed[support], expected * observed.sum() / expected.sum()).pvalue


# Temperatures.


def test_mean_temperature_is_inverse_beta():
    temperatures = temperature_sampling.sample_temperatures(np.random.default_rng(0), 2.0, 200_000)
    assert temperatures.dtype == np.float64
    assert temperatures.mean() == pytest.approx(0.5, rel=0.01)


def test_beta_is_a_rate_not_a_scale():
    # Gamma(1, rate=0.1) has mean 10; a scale of 0.1 would give mean 0.1.
    temperatures = temperature_sampling.sample_temperatures(np.random.default_rng(1), 0.1, 200_000)
    assert temperatures.mean() == pytest.approx(10.0, rel=0.01)


def test_temperatures_are_exponential():
    temperatures = temperature_sampling.sample_temperatures(np.random.default_rng(2), 0.5, 20_000)
    assert stats.kstest(temperatures, stats.expon(scale=2.0).cdf).pvalue > SIGNIFICANCE


def test_temperatures_have_requested_shape():
    shape = (3, 4)
    assert (
        temperature_sampling.sample_temperatures(np.random.default_rng(0), 1.0, shape).shape
        == shape
    )


# Tempering.


def test_temperature_one_leaves_distribution_unchanged():
    probs = random_probabilities(5, 7, seed=0)
    np.testing.assert_allclose(temperature_sampling.tempered_distribution(probs, np.ones(5)), probs)


def test_tempered_distribution_is_softmax_of_log_probs_over_temperature():
    probs = random_probabilities(4, 6, seed=1)
    temperature = np.array([0.3, 0.7, 2.0, 5.0])
    expected = softmax(np.log(probs) / temperature[:, None])
    np.testing.assert_allclose(
        temperature_sampling.tempered_distribution(probs, temperature), expected
    )


@pytest.mark.parametrize("temperature", [0.0, 1e-300, 1e-9])
def test_cold_temperature_gives_one_hot_argmax(temperature):
    probs = random_probabilities(6, 9, seed=2)
    tempered = temperature_sampling.tempered_distribution(probs, np.full(6, temperature))
    np.testing.assert_array_equal(tempered, np.eye(9)[probs.argmax(axis=1)])


@pytest.mark.parametrize("temperature", [1e9, np.inf])
def test_hot_temperature_gives_uniform_over_support(temperature):
    probs = np.array([[0.5, 0.0, 0.3, 0.2, 0.0], [1e-30, 1 - 1e-30, 0.0, 0.0, 0.0]])
    tempered = temperature_sampling.tempered_distribution(probs, np.full(2, temperature))
    expected = np.array([[1 / 3, 0, 1 / 3, 1 / 3, 0], [0.5, 0.5, 0, 0, 0]])
    np.testing.assert_allclose(tempered, expected, atol=1e-6)


def test_zero_probability_stays_zero_at_every_temperature():
    probs = np.array([[0.6, 0.0, 0.4]] * 4)
    tempered = temperature_sampling.tempered_distribution(probs, np.array([0.01, 1.0, 100.0, 1e12]))
    assert np.all(tempered[:, 1] == 0)
    np.testing.assert_allclose(tempered.sum(axis=1), 1.0)


# Sampling.


def _gamma_mixture(probs: np.ndarray, beta: float) -> np.ndarray:
    """E_T[softmax(log p / T)] for T ~ Gamma(1, rate=beta), by numerical integration."""

    def density(temperature: float, label: int) -> float:
        tempered = special.softmax(np.log(probs) / temperature)[label]
        return tempered * stats.expon(scale=1 / beta).pdf(temperature)

    return np.array(
        [integrate.quad(density, 1e-9, np.inf, args=(c,), limit=200)[0] for c in range(len(probs))]
    )


@pytest.mark.parametrize(
    "beta",
    [0.1, pytest.param(0.5, marks=pytest.mark.slow), pytest.param(2.0, marks=pytest.mark.slow)],
)
def test_label_marginal_matches_gamma_temperature_mixture(beta):
    probs = np.array([0.6, 0.2, 0.1, 0.07, 0.03])
    labels, _ = temperature_sampling.relabel(np.tile(probs, (20_000, 1)), beta=beta, seed=4)
    expected = _gamma_mixture(probs, beta)
    assert expected.sum() == pytest.approx(1.0, abs=1e-4)
    assert _chi_square_pvalue(labels, expected) > SIGNIFICANCE


def test_label_marginal_with_confused_scale_is_rejected():
    # beta = 0.5 read as a scale (mean T 0.5, not 2) predicts a different histogram.
    probs = np.array([0.6, 0.2, 0.1, 0.07, 0.03])
    labels, _ = temperature_sampling.relabel(np.tile(probs, (20_000, 1)), beta=0.5, seed=4)
    assert _chi_square_pvalue(labels, _gamma_mixture(probs, 1 / 0.5)) < SIGNIFICANCE


def test_huge_beta_gives_argmax_labels():
    probs = random_probabilities(500, 30, seed=5)
    labels, confidences = temperature_sampling.relabel(probs, beta=1e12, seed=0)
    np.testing.assert_array_equal(labels, probs.argmax(axis=1))
    np.testing.assert_array_equal(confidences, probs.max(axis=1))


def test_tiny_beta_gives_uniform_labels_over_support():
    probs = np.array([0.9, 0.0, 0.05, 0.03, 0.0, 0.02])
    labels, _ = temperature_sampling.relabel(np.tile(probs, (20_000, 1)), beta=1e-9, seed=6)
    expected = np.array([0.25, 0.0, 0.25, 0.25, 0.0, 0.25])
    assert _chi_square_pvalue(labels, expected) > SIGNIFICANCE


def test_confidence_is_original_probability_of_drawn_label():
    probs = random_probabilities(2000, 50, seed=7).astype(np.float32)
    labels, confidences = temperature_sampling.relabel(probs, beta=0.3, seed=1)
    assert labels.dtype == np.int64 and confidences.dtype == np.float64
    np.testing.assert_array_equal(confidences, probs[np.arange(2000), labels])
    # Noisy labels: the confidence is not simply the model's top probability.
    assert np.any(labels != probs.argmax(axis=1))


def test_logits_give_same_labels_as_their_softmax():
    logits = np.random.default_rng(8).normal(0.0, 3.0, size=(5000, 40))
    from_probs = temperature_sampling.relabel(softmax(logits), beta=0.3, seed=2)
    from_logits = temperature_sampling.relabel(logits, beta=0.3, seed=2, from_logits=True)
    np.testing.assert_array_equal(from_logits[0], from_probs[0])
    np.testing.assert_allclose(from_logits[1], from_probs[1], rtol=1e-12)


def test_logits_may_mask_classes_with_minus_infinity():
    logits = np.array([[0.0, -np.inf, 1.0, 0.5]] * 3000)
    labels, confidences = temperature_sampling.relabel(logits, beta=1e-6, seed=3, from_logits=True)
    assert set(np.unique(labels)) == {0, 2, 3}
    assert np.all(confidences > 0)


# Determinism.


def test_same_seed_gives_same_labels():
    probs = random_probabilities(3000, 25, seed=9)
    first = temperature_sampling.relabel(probs, beta=0.5, seed=11)
    second = temperature_sampling.relabel(probs, beta=0.5, seed=11)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("other", [{"seed": 12}, {"seed": (11, 1)}, {"annotator": 1}])
def test_seed_and_annotator_select_independent_streams(other):
    probs = random_probabilities(3000, 25, seed=9)
    labels, _ = temperature_sampling.relabel(probs, beta=0.5, seed=11)
    kwargs = {"seed": 11, **other}
    other_labels, _ = temperature_sampling.relabel(probs, beta=0.5, **kwargs)
    # Two independent draws of noisy labels agree far less than always.
    assert np.mean(labels == other_labels) < 0.9


def test_row_labels_do_not_depend_on_rows_around_them():
    probs = random_probabilities(2 * temperature_sampling.SAMPLING_BLOCK_ROWS, 10, seed=10)
    labels, _ = temperature_sampling.relabel(probs, beta=0.5, seed=0)
    for num_rows in (1000, temperature_sampling.SAMPLING_BLOCK_ROWS + 7):
        prefix_labels, _ = temperature_sampling.relabel(probs[:num_rows], beta=0.5, seed=0)
        np.testing.assert_array_equal(prefix_labels, labels[:num_rows])
    # Changing one row's probabilities changes no other row's label.
    changed = probs.copy()
    changed[5] = np.roll(changed[5], 3)
    changed_labels, _ = temperature_sampling.relabel(changed, beta=0.5, seed=0)
    np.testing.assert_array_equal(np.delete(changed_labels, 5), np.delete(labels, 5))


def test_split_seeds_differ_between_splits():
    assert temperature_sampling.split_seed(0, "train") != temperature_sampling.split_seed(
        0, "validation"
    )
    assert temperature_sampling.split_seed(0, "train") == temperature_sampling.split_seed(
        0, "train"
    )


# Errors.


@pytest.mark.parametrize("beta", [0.0, -0.5, float("nan"), float("inf")])
def test_beta_must_be_positive_and_finite(beta):
    probs = random_probabilities(3, 4, seed=0)
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        temperature_sampling.relabel(probs, beta=beta, seed=0)
    with pytest.raises(ValueError, match="beta"):
        temperature_sampling.sample_temperatures(np.random.default_rng(0), beta, 3)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", ()])
def test_seed_must_be_non_negative_integers(seed):
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        temperature_sampling.relabel(random_probabilities(3, 4, seed=0), beta=1.0, seed=seed)


def test_logits_without_flag_are_rejected():
    logits = np.random.default_rng(0).normal(size=(6, 5))
    with pytest.raises(InvalidPredictionsError, match=r"row \d+: .*from_logits=True"):
        temperature_sampling.relabel(logits, beta=0.5, seed=0)


def test_negative_probabilities_are_rejected():
    probs = np.array([[0.5, 0.5, 0.0], [1.2, -0.2, 0.0]])
    with pytest.raises(InvalidPredictionsError, match="row 1: .*>= 0, found negative"):
        temperature_sampling.relabel(probs, beta=0.5, seed=0)


@pytest.mark.parametrize("from_logits", [False, True])
def test_nan_is_rejected(from_logits):
    probs = np.full((4, 4), 0.25)
    probs[2, 1] = np.nan
    with pytest.raises(InvalidPredictionsError, match="row 2: expected numbers, found NaN"):
        temperature_sampling.relabel(probs, beta=0.5, seed=0, from_logits=from_logits)


def test_logits_must_not_be_all_minus_infinity():
    logits = np.zeros((3, 4))
    logits[1] = -np.inf
    with pytest.raises(InvalidPredictionsError, match="row 1: .*finite logit"):
        temperature_sampling.relabel(logits, beta=0.5, seed=0, from_logits=True)


@pytest.mark.parametrize("temperature", [np.array([-1.0, 1.0]), np.array([np.nan, 1.0])])
def test_temperature_must_be_non_negative(temperature):
    with pytest.raises(ValueError, match="temperature: expected values >= 0"):
        temperature_sampling.tempered_distribution(np.full((2, 2), 0.5), temperature)
