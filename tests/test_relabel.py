"""The relabelling process: temperatures, tempering, sampling, determinism, files, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import integrate, special, stats

from imagenet_pi import (
    annotations,
    annotator_feature_table,
    parallel_relabel,
    relabel,
    relabel_files,
    relabelled_configs,
    upstream,
)

# Fixed seeds make every statistical test deterministic; thresholds are for a correct sampler.
SIGNIFICANCE = 1e-4


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _random_probabilities(num_examples: int, num_classes: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0.0, 2.0, size=(num_examples, num_classes))
    return _softmax(logits)


def _chi_square_pvalue(labels: np.ndarray, expected_probs: np.ndarray) -> float:
    observed = np.bincount(labels, minlength=len(expected_probs))
    support = expected_probs > 0
    assert observed[~support].sum() == 0, "drew a class of probability 0"
    expected = expected_probs[support] * len(labels)
    return stats.chisquare(observed[support], expected * observed.sum() / expected.sum()).pvalue


@pytest.fixture
def split_predictions() -> list[np.ndarray]:
    """Three annotators over 3 sampling blocks plus a ragged tail, 20 classes, float32."""
    num_examples = 3 * relabel.SAMPLING_BLOCK_ROWS + 123
    return [_random_probabilities(num_examples, 20, seed).astype(np.float32) for seed in range(3)]


def _file_names(num_examples: int) -> list[str]:
    return [f"ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(num_examples)]


# Temperatures.


def test_mean_temperature_is_inverse_beta():
    temperatures = relabel.sample_temperatures(np.random.default_rng(0), 2.0, 200_000)
    assert temperatures.dtype == np.float64
    assert temperatures.mean() == pytest.approx(0.5, rel=0.01)


def test_beta_is_a_rate_not_a_scale():
    # Gamma(1, rate=0.1) has mean 10; a scale of 0.1 would give mean 0.1.
    temperatures = relabel.sample_temperatures(np.random.default_rng(1), 0.1, 200_000)
    assert temperatures.mean() == pytest.approx(10.0, rel=0.01)


def test_temperatures_are_exponential():
    temperatures = relabel.sample_temperatures(np.random.default_rng(2), 0.5, 20_000)
    assert stats.kstest(temperatures, stats.expon(scale=2.0).cdf).pvalue > SIGNIFICANCE


def test_temperatures_have_requested_shape():
    shape = (3, 4)
    assert relabel.sample_temperatures(np.random.default_rng(0), 1.0, shape).shape == shape


# Tempering.


def test_temperature_one_leaves_distribution_unchanged():
    probs = _random_probabilities(5, 7, seed=0)
    np.testing.assert_allclose(relabel.tempered_distribution(probs, np.ones(5)), probs)


def test_tempered_distribution_is_softmax_of_log_probs_over_temperature():
    probs = _random_probabilities(4, 6, seed=1)
    temperature = np.array([0.3, 0.7, 2.0, 5.0])
    expected = _softmax(np.log(probs) / temperature[:, None])
    np.testing.assert_allclose(relabel.tempered_distribution(probs, temperature), expected)


@pytest.mark.parametrize("temperature", [0.0, 1e-300, 1e-9])
def test_cold_temperature_gives_one_hot_argmax(temperature):
    probs = _random_probabilities(6, 9, seed=2)
    tempered = relabel.tempered_distribution(probs, np.full(6, temperature))
    np.testing.assert_array_equal(tempered, np.eye(9)[probs.argmax(axis=1)])


@pytest.mark.parametrize("temperature", [1e9, np.inf])
def test_hot_temperature_gives_uniform_over_support(temperature):
    probs = np.array([[0.5, 0.0, 0.3, 0.2, 0.0], [1e-30, 1 - 1e-30, 0.0, 0.0, 0.0]])
    tempered = relabel.tempered_distribution(probs, np.full(2, temperature))
    expected = np.array([[1 / 3, 0, 1 / 3, 1 / 3, 0], [0.5, 0.5, 0, 0, 0]])
    np.testing.assert_allclose(tempered, expected, atol=1e-6)


def test_zero_probability_stays_zero_at_every_temperature():
    probs = np.array([[0.6, 0.0, 0.4]] * 4)
    tempered = relabel.tempered_distribution(probs, np.array([0.01, 1.0, 100.0, 1e12]))
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
    labels, _ = relabel.relabel(np.tile(probs, (20_000, 1)), beta=beta, seed=4)
    expected = _gamma_mixture(probs, beta)
    assert expected.sum() == pytest.approx(1.0, abs=1e-4)
    assert _chi_square_pvalue(labels, expected) > SIGNIFICANCE


def test_label_marginal_with_confused_scale_is_rejected():
    # beta = 0.5 read as a scale (mean T 0.5, not 2) predicts a different histogram.
    probs = np.array([0.6, 0.2, 0.1, 0.07, 0.03])
    labels, _ = relabel.relabel(np.tile(probs, (20_000, 1)), beta=0.5, seed=4)
    assert _chi_square_pvalue(labels, _gamma_mixture(probs, 1 / 0.5)) < SIGNIFICANCE


def test_huge_beta_gives_argmax_labels():
    probs = _random_probabilities(500, 30, seed=5)
    labels, confidences = relabel.relabel(probs, beta=1e12, seed=0)
    np.testing.assert_array_equal(labels, probs.argmax(axis=1))
    np.testing.assert_array_equal(confidences, probs.max(axis=1))


def test_tiny_beta_gives_uniform_labels_over_support():
    probs = np.array([0.9, 0.0, 0.05, 0.03, 0.0, 0.02])
    labels, _ = relabel.relabel(np.tile(probs, (20_000, 1)), beta=1e-9, seed=6)
    expected = np.array([0.25, 0.0, 0.25, 0.25, 0.0, 0.25])
    assert _chi_square_pvalue(labels, expected) > SIGNIFICANCE


def test_confidence_is_original_probability_of_drawn_label():
    probs = _random_probabilities(2000, 50, seed=7).astype(np.float32)
    labels, confidences = relabel.relabel(probs, beta=0.3, seed=1)
    assert labels.dtype == np.int64 and confidences.dtype == np.float64
    np.testing.assert_array_equal(confidences, probs[np.arange(2000), labels])
    # Noisy labels: the confidence is not simply the model's top probability.
    assert np.any(labels != probs.argmax(axis=1))


def test_logits_give_same_labels_as_their_softmax():
    logits = np.random.default_rng(8).normal(0.0, 3.0, size=(5000, 40))
    from_probs = relabel.relabel(_softmax(logits), beta=0.3, seed=2)
    from_logits = relabel.relabel(logits, beta=0.3, seed=2, from_logits=True)
    np.testing.assert_array_equal(from_logits[0], from_probs[0])
    np.testing.assert_allclose(from_logits[1], from_probs[1], rtol=1e-12)


def test_logits_may_mask_classes_with_minus_infinity():
    logits = np.array([[0.0, -np.inf, 1.0, 0.5]] * 3000)
    labels, confidences = relabel.relabel(logits, beta=1e-6, seed=3, from_logits=True)
    assert set(np.unique(labels)) == {0, 2, 3}
    assert np.all(confidences > 0)


# Determinism.


def test_same_seed_gives_same_labels():
    probs = _random_probabilities(3000, 25, seed=9)
    first = relabel.relabel(probs, beta=0.5, seed=11)
    second = relabel.relabel(probs, beta=0.5, seed=11)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("other", [{"seed": 12}, {"seed": (11, 1)}, {"annotator": 1}])
def test_seed_and_annotator_select_independent_streams(other):
    probs = _random_probabilities(3000, 25, seed=9)
    labels, _ = relabel.relabel(probs, beta=0.5, seed=11)
    kwargs = {"seed": 11, **other}
    other_labels, _ = relabel.relabel(probs, beta=0.5, **kwargs)
    # Two independent draws of noisy labels agree far less than always.
    assert np.mean(labels == other_labels) < 0.9


def test_row_labels_do_not_depend_on_rows_around_them():
    probs = _random_probabilities(2 * relabel.SAMPLING_BLOCK_ROWS, 10, seed=10)
    labels, _ = relabel.relabel(probs, beta=0.5, seed=0)
    for num_rows in (1000, relabel.SAMPLING_BLOCK_ROWS + 7):
        prefix_labels, _ = relabel.relabel(probs[:num_rows], beta=0.5, seed=0)
        np.testing.assert_array_equal(prefix_labels, labels[:num_rows])
    # Changing one row's probabilities changes no other row's label.
    changed = probs.copy()
    changed[5] = np.roll(changed[5], 3)
    changed_labels, _ = relabel.relabel(changed, beta=0.5, seed=0)
    np.testing.assert_array_equal(np.delete(changed_labels, 5), np.delete(labels, 5))


@pytest.mark.parametrize(
    ("chunk_size", "num_workers"), [(1, 1), (5000, 2), (4096, 3), (10**7, 2), (8192, 1)]
)
def test_split_result_does_not_depend_on_chunks_or_workers(
    split_predictions, chunk_size, num_workers
):
    file_names = _file_names(len(split_predictions[0]))
    reference = parallel_relabel.relabel_split(split_predictions, file_names, 0.2, 5, num_workers=1)
    labels, confidences = parallel_relabel.relabel_split(
        split_predictions, file_names, 0.2, 5, chunk_size=chunk_size, num_workers=num_workers
    )
    np.testing.assert_array_equal(labels, reference[0])
    np.testing.assert_array_equal(confidences, reference[1])


def test_split_column_is_relabel_of_its_annotator(split_predictions):
    file_names = _file_names(len(split_predictions[0]))
    labels, confidences = parallel_relabel.relabel_split(split_predictions, file_names, 0.2, 5)
    assert labels.dtype == np.int16 and confidences.dtype == np.float32
    assert labels.shape == confidences.shape == (len(file_names), 3)
    for annotator, probs in enumerate(split_predictions):
        expected_labels, expected_confidences = relabel.relabel(
            probs, beta=0.2, seed=5, annotator=annotator
        )
        np.testing.assert_array_equal(labels[:, annotator], expected_labels)
        np.testing.assert_array_equal(confidences[:, annotator], expected_confidences)


def test_split_reads_npy_files_like_arrays(tmp_path, split_predictions):
    paths = []
    for annotator, probs in enumerate(split_predictions):
        paths.append(tmp_path / f"annotator{annotator}.npy")
        np.save(paths[-1], probs)
    file_names = _file_names(len(split_predictions[0]))
    from_files = parallel_relabel.relabel_split(paths, file_names, 0.2, 5, chunk_size=3000)
    from_arrays = parallel_relabel.relabel_split(split_predictions, file_names, 0.2, 5)
    np.testing.assert_array_equal(from_files[0], from_arrays[0])
    np.testing.assert_array_equal(from_files[1], from_arrays[1])


def test_split_seeds_differ_between_splits():
    assert relabel.split_seed(0, "train") != relabel.split_seed(0, "validation")
    assert relabel.split_seed(0, "train") == relabel.split_seed(0, "train")


# Annotator features.


def test_annotator_features_are_z_scores_of_accuracy_and_log_parameter_count():
    features = annotator_feature_table.annotator_features_from_accuracy(
        [0.6, 0.7, 0.8], [1e6, 1e7, 1e8]
    )
    assert features.dtype == np.float32 and features.shape == (3, 2)
    np.testing.assert_allclose(features[:, 0], [-1.2247449, 0.0, 1.2247449], atol=1e-6)
    np.testing.assert_allclose(features[:, 1], [-1.2247449, 0.0, 1.2247449], atol=1e-6)


def test_annotator_features_rank_annotators():
    accuracies = np.array([0.76, 0.71, 0.8, 0.68])
    counts = np.array([25.6e6, 4.2e6, 143.7e6, 3.5e6])
    features = annotator_feature_table.annotator_features_from_accuracy(accuracies, counts)
    np.testing.assert_array_equal(np.argsort(features[:, 0]), np.argsort(accuracies))
    np.testing.assert_array_equal(np.argsort(features[:, 1]), np.argsort(counts))
    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(features.std(axis=0), 1.0, rtol=1e-6)


def test_annotator_accuracies_are_top1_against_clean_labels(split_predictions):
    clean_labels = split_predictions[0].argmax(axis=1)
    accuracies = annotator_feature_table.top1_accuracies(
        split_predictions, clean_labels, chunk_size=1000
    )
    expected = [np.mean(probs.argmax(axis=1) == clean_labels) for probs in split_predictions]
    assert accuracies[0] == 1.0
    np.testing.assert_allclose(accuracies, expected)


# Config folders.

MODELS = upstream.ANNOTATOR_MODELS


@pytest.fixture
def sixteen_annotators() -> list[np.ndarray]:
    """A whole annotator panel over 300 images and 1000 classes, float32 probabilities."""
    num_examples = 300
    clean_labels = np.random.default_rng(0).integers(0, upstream.NUM_CLASSES, num_examples)
    predictions = []
    for annotator in range(upstream.NUM_ANNOTATORS):
        rng = np.random.default_rng(100 + annotator)
        logits = rng.normal(0.0, 1.0, size=(num_examples, upstream.NUM_CLASSES))
        # Annotator a puts more mass on the clean class the larger a is.
        logits[np.arange(num_examples), clean_labels] += 2.0 + 0.15 * annotator
        predictions.append(_softmax(logits).astype(np.float32))
    return [clean_labels, *predictions]


def test_relabelled_config_reads_back_as_written(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    file_names = _file_names(len(predictions[0]))
    labels, confidences = parallel_relabel.relabel_split(predictions, file_names, 0.2, 5)
    features = annotator_feature_table.annotator_features_from_accuracy(
        np.linspace(0.6, 0.8, 16), np.geomspace(3e6, 1.4e8, 16)
    )
    relabelled_configs.write_relabelled_config(
        tmp_path / "my_noise", {"validation": (file_names, labels, confidences)}, features
    )
    split = annotations.read_split(tmp_path / "my_noise", "validation")
    assert split.file_names.tolist() == file_names
    np.testing.assert_array_equal(split.labels, labels)
    np.testing.assert_array_equal(split.confidences, confidences)
    np.testing.assert_array_equal(
        annotations.read_annotator_features(tmp_path / "my_noise"), features
    )


def test_relabelled_config_needs_sixteen_annotators(tmp_path, split_predictions):
    file_names = _file_names(len(split_predictions[0]))
    labels, confidences = parallel_relabel.relabel_split(split_predictions, file_names, 0.2, 5)
    with pytest.raises(ValueError, match=r"expected labels of shape \(N, 16\)"):
        relabelled_configs.write_relabelled_config(
            tmp_path, {"train": (file_names, labels, confidences)}, np.zeros((16, 2))
        )
    with pytest.raises(ValueError, match=r"annotator_features: expected shape \(16, 2\)"):
        relabelled_configs.write_relabelled_config(
            tmp_path, {"train": (file_names, labels, confidences)}, np.zeros((3, 2))
        )


def _write_predictions_dir(root, split, predictions, *, clean_labels=None):
    split_dir = root / split
    split_dir.mkdir(parents=True)
    file_names = _file_names(len(predictions[0]))
    (split_dir / relabel_files.FILE_NAMES_FILE).write_text("\n".join(file_names) + "\n")
    for model, probs in zip(MODELS, predictions, strict=True):
        np.save(relabel_files.predictions_path(split_dir, model), probs)
    if clean_labels is not None:
        np.save(split_dir / relabel_files.CLEAN_LABELS_FILE, clean_labels)
        # Parameter counts fall with the annotator index, accuracies rise.
        counts = {model: 2.0 ** (40 - i) for i, model in enumerate(MODELS)}
        (split_dir / relabel_files.PARAMETER_COUNTS_FILE).write_text(json.dumps(counts))
    return file_names


def test_relabel_config_from_predictions_dir(tmp_path, sixteen_annotators):
    clean_labels, *predictions = sixteen_annotators
    for split in ("train", "validation"):
        file_names = _write_predictions_dir(
            tmp_path / "predictions", split, predictions, clean_labels=clean_labels
        )
    relabelled_configs.relabel_config(tmp_path / "predictions", tmp_path / "out", beta=0.5, seed=5)
    for split in ("train", "validation"):
        written = annotations.read_split(tmp_path / "out", split)
        expected = parallel_relabel.relabel_split(
            predictions, file_names, 0.5, relabel.split_seed(5, split)
        )
        assert written.file_names.tolist() == file_names
        np.testing.assert_array_equal(written.labels, expected[0])
        np.testing.assert_array_equal(written.confidences, expected[1])
    train = annotations.read_split(tmp_path / "out", "train")
    validation = annotations.read_split(tmp_path / "out", "validation")
    assert np.mean(train.labels != validation.labels) > 0.1  # independent draws per split
    features = annotations.read_annotator_features(tmp_path / "out")
    accuracies = [np.mean(p.argmax(axis=1) == clean_labels) for p in predictions]
    np.testing.assert_allclose(features[:, 0], stats.zscore(accuracies), atol=1e-6)
    np.testing.assert_allclose(features[:, 1], -np.linspace(-1.62698, 1.62698, 16), atol=1e-4)


def test_relabel_config_without_clean_labels_needs_features(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    _write_predictions_dir(tmp_path / "predictions", "validation", predictions)
    with pytest.raises(FileNotFoundError, match="clean_labels.npy.*annotator features"):
        relabelled_configs.relabel_config(
            tmp_path / "predictions", tmp_path / "out", 0.2, 5, splits=["validation"]
        )
    assert not (tmp_path / "out").exists()
    features = np.arange(32, dtype=np.float32).reshape(16, 2)
    relabelled_configs.relabel_config(
        tmp_path / "predictions",
        tmp_path / "out",
        0.2,
        5,
        splits=["validation"],
        annotator_features=features,
    )
    np.testing.assert_array_equal(annotations.read_annotator_features(tmp_path / "out"), features)


def test_relabel_config_names_missing_model_file(tmp_path, sixteen_annotators):
    _, *predictions = sixteen_annotators
    _write_predictions_dir(tmp_path / "predictions", "train", predictions)
    (tmp_path / "predictions" / "train" / "VGG19.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"train: .*missing \['VGG19\.npy'\]"):
        relabelled_configs.relabel_config(
            tmp_path / "predictions",
            tmp_path / "out",
            0.2,
            5,
            splits=["train"],
            annotator_features=np.zeros((16, 2)),
        )


def test_relabel_config_needs_sixteen_models(tmp_path):
    with pytest.raises(ValueError, match="expected 16 annotator model names"):
        relabelled_configs.relabel_config(tmp_path, tmp_path / "out", 0.2, 5, models=["MobileNet"])


# Errors.


@pytest.mark.parametrize("beta", [0.0, -0.5, float("nan"), float("inf")])
def test_beta_must_be_positive_and_finite(beta):
    probs = _random_probabilities(3, 4, seed=0)
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        relabel.relabel(probs, beta=beta, seed=0)
    with pytest.raises(ValueError, match="beta"):
        relabel.sample_temperatures(np.random.default_rng(0), beta, 3)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", ()])
def test_seed_must_be_non_negative_integers(seed):
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        relabel.relabel(_random_probabilities(3, 4, seed=0), beta=1.0, seed=seed)


def test_rows_not_summing_to_one_name_file_and_row(tmp_path):
    probs = _random_probabilities(10, 5, seed=0).astype(np.float32)
    probs[7] *= 0.9
    np.save(tmp_path / "VGG16.npy", probs)
    with pytest.raises(relabel.InvalidPredictionsError, match=r"VGG16\.npy: row 7: .*sum.*logits"):
        parallel_relabel.relabel_split([tmp_path / "VGG16.npy"], _file_names(10), 0.5, 0)


def test_logits_without_flag_are_rejected():
    logits = np.random.default_rng(0).normal(size=(6, 5))
    with pytest.raises(relabel.InvalidPredictionsError, match=r"row \d+: .*from_logits=True"):
        relabel.relabel(logits, beta=0.5, seed=0)


def test_negative_probabilities_are_rejected():
    probs = np.array([[0.5, 0.5, 0.0], [1.2, -0.2, 0.0]])
    with pytest.raises(relabel.InvalidPredictionsError, match="row 1: .*>= 0, found negative"):
        relabel.relabel(probs, beta=0.5, seed=0)


@pytest.mark.parametrize("from_logits", [False, True])
def test_nan_is_rejected(from_logits):
    probs = np.full((4, 4), 0.25)
    probs[2, 1] = np.nan
    with pytest.raises(relabel.InvalidPredictionsError, match="row 2: expected numbers, found NaN"):
        relabel.relabel(probs, beta=0.5, seed=0, from_logits=from_logits)


def test_logits_must_not_be_all_minus_infinity():
    logits = np.zeros((3, 4))
    logits[1] = -np.inf
    with pytest.raises(relabel.InvalidPredictionsError, match="row 1: .*finite logit"):
        relabel.relabel(logits, beta=0.5, seed=0, from_logits=True)


def test_file_names_count_must_match_rows(split_predictions):
    with pytest.raises(
        relabel.InvalidPredictionsError, match=r"predictions\[0\]: expected shape \(10, 20\)"
    ):
        parallel_relabel.relabel_split(split_predictions, _file_names(10), 0.5, 0)


def test_annotators_must_agree_on_shape(tmp_path):
    np.save(tmp_path / "a.npy", _random_probabilities(8, 5, seed=0))
    np.save(tmp_path / "b.npy", _random_probabilities(8, 6, seed=0))
    with pytest.raises(relabel.InvalidPredictionsError, match=r"b\.npy: expected shape \(8, 5\)"):
        parallel_relabel.relabel_split(
            [tmp_path / "a.npy", tmp_path / "b.npy"], _file_names(8), 0.5, 0
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.full((4,), 0.25), r"expected shape \(num_examples, num_classes\), found \(4,\)"),
        (np.ones((4, 1), np.int64), "expected floating-point .* found dtype int64"),
    ],
)
def test_predictions_must_be_2d_floats(tmp_path, values, message):
    np.save(tmp_path / "bad.npy", values)
    with pytest.raises(relabel.InvalidPredictionsError, match=r"bad\.npy: " + message):
        parallel_relabel.relabel_split([tmp_path / "bad.npy"], _file_names(4), 0.5, 0)


def test_unreadable_npy_names_file(tmp_path):
    (tmp_path / "broken.npy").write_text("ResNet50V2,0.1,0.9\n")
    with pytest.raises(relabel.InvalidPredictionsError, match=r"broken\.npy: expected a \.npy"):
        parallel_relabel.relabel_split([tmp_path / "broken.npy"], _file_names(1), 0.5, 0)


def test_missing_npy_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        parallel_relabel.relabel_split([tmp_path / "absent.npy"], _file_names(1), 0.5, 0)


def test_no_annotators_is_an_error():
    with pytest.raises(ValueError, match="one array or .npy file per annotator, found none"):
        parallel_relabel.relabel_split([], _file_names(1), 0.5, 0)


@pytest.mark.parametrize("temperature", [np.array([-1.0, 1.0]), np.array([np.nan, 1.0])])
def test_temperature_must_be_non_negative(temperature):
    with pytest.raises(ValueError, match="temperature: expected values >= 0"):
        relabel.tempered_distribution(np.full((2, 2), 0.5), temperature)


def test_annotator_features_need_matching_lengths_and_positive_counts():
    with pytest.raises(ValueError, match="two .A,. arrays of one length"):
        annotator_feature_table.annotator_features_from_accuracy([0.5, 0.6], [1e6])
    with pytest.raises(ValueError, match="parameter_counts: expected finite values > 0"):
        annotator_feature_table.annotator_features_from_accuracy([0.5, 0.6], [1e6, 0])
    with pytest.raises(ValueError, match=r"accuracies: expected values in \[0, 1\]"):
        annotator_feature_table.annotator_features_from_accuracy([50.0, 60.0], [1e6, 1e7])
