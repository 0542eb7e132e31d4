"""The noise report: what it measures and where the labels come from (rendered:
tests/test_stats_rendering.py; the command: tests/cli/test_stats.py)."""

from __future__ import annotations

import os

import noise_reports
import numpy as np
import pytest

from imagenet_pi import (
    annotations,
    label_policies,
    stats,
    stats_rendering,
    synsets,
    upstream,
)


@pytest.fixture(scope="module")
def known_labels() -> stats.SplitLabels:
    """Annotators that agree with the clean label on 20, 40, 60 and 80 of 100 rows (see
    `noise_reports.known_labels`)."""
    return noise_reports.known_labels()


def test_agreement_per_annotator_counts_labels_equal_to_the_clean_one(known_labels):
    result = stats.split_report(known_labels)
    assert result["per_annotator_agreement"] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert result["agreement"] == pytest.approx(0.5)


def test_examples_are_counted_by_how_many_annotators_agree(known_labels):
    counts = stats.split_report(known_labels)["examples_by_agreeing_annotators"]
    # Rows 0-19: all 4 agree; 20-39: 3; 40-59: 2; 60-79: 1; 80-99: none.
    assert counts == [20, 20, 20, 20, 20]


def test_published_agreement_is_shown_for_released_configs_only(known_labels):
    released = stats.report(noise_reports.label_source(known_labels, "high_noise"))
    custom = stats.report(noise_reports.label_source(known_labels, "beta_0.3"))
    assert released["expected_agreement"] == upstream.NOISE_LEVELS["high_noise"].expected_agreement
    assert "(published: 16.2%)" in stats_rendering.format_text(released)
    assert custom["expected_agreement"] is None
    assert "no published figure" in stats_rendering.format_text(custom)


def test_majority_vote_takes_the_most_frequent_label_and_smallest_class_on_ties():
    clean = np.array([5, 5, 5, 5])
    labels = np.array([[5, 5, 3, 3, 3], [7, 2, 2, 7, 5], [9, 5, 5, 9, 1], [3, 5, 5, 3, 5]])
    split = stats.SplitLabels(
        clean, labels.astype(np.int16), np.full(labels.shape, 0.5, np.float32)
    )
    # Row 0: 3 wins 3-2. Row 1: 7 and 2 tie, 2 is smaller. Row 2: 9 and 5 tie, 5 is smaller
    # (though 9 comes first). Row 3: 5 wins 3-2.
    assert stats.split_report(split)["majority_vote_agreement"] == pytest.approx(2 / 4)


def test_majority_vote_agreement_is_that_of_the_majority_label_policy():
    # Few classes and an even number of annotators: many ties, in every column order.
    rng = np.random.default_rng(3)
    clean = rng.integers(0, 4, 5000)
    labels = rng.integers(0, 4, (5000, 16)).astype(np.int16)
    split = stats.SplitLabels(clean, labels, np.full(labels.shape, 0.5, np.float32))
    keys = label_policies.example_keys([f"{i}.JPEG" for i in range(len(clean))])
    trained_on = label_policies.make_policy("majority").select(labels, clean, keys, 0).label
    expected = np.mean(trained_on == clean)
    assert stats.split_report(split)["majority_vote_agreement"] == expected
    reversed_columns = stats.SplitLabels(clean, labels[:, ::-1], split.annotator_confidences)
    assert stats.split_report(reversed_columns)["majority_vote_agreement"] == expected


def test_confidences_of_correct_and_wrong_labels_are_apart(known_labels):
    confidence = stats.split_report(known_labels)["confidence"]
    assert confidence["mean_correct"] == pytest.approx(0.9)
    assert confidence["mean_wrong"] == pytest.approx(0.1)
    assert confidence["per_annotator_mean_wrong"] == pytest.approx(
        [0.1] * noise_reports.NUM_ANNOTATORS
    )
    # 0.9 falls in bin [0.9, 0.95), 0.1 in [0.1, 0.15): 200 correct labels, 200 wrong.
    assert confidence["histogram_correct"][18] == 200 == sum(confidence["histogram_correct"])
    assert confidence["histogram_wrong"][2] == 200 == sum(confidence["histogram_wrong"])


def test_confidence_of_one_goes_in_the_last_bin():
    split = stats.SplitLabels(np.array([0]), np.array([[0]]), np.array([[1.0]], np.float32))
    histogram = stats.split_report(split)["confidence"]["histogram_correct"]
    assert histogram[-1] == 1 and sum(histogram) == 1


def test_transition_counts_count_every_clean_and_annotator_label_pair():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, upstream.NUM_CLASSES, 300)
    labels = rng.integers(0, upstream.NUM_CLASSES, (300, 3))
    expected = np.zeros((upstream.NUM_CLASSES, upstream.NUM_CLASSES), np.int64)
    for row, clean_label in enumerate(clean):
        for label in labels[row]:
            expected[clean_label, label] += 1
    np.testing.assert_array_equal(stats.transition_counts(clean, labels), expected)


def test_top_confusions_name_synsets_and_classes(known_labels):
    confusions = stats.split_report(known_labels)["transitions"]["top_confusions"]
    # Every clean class c is confused with c + 1 twenty times; ties go to the lowest class.
    first = confusions[0]
    assert (first["clean"]["index"], first["label"]["index"], first["count"]) == (0, 1, 20)
    assert first["clean"]["synset"] == "n01440764" == synsets.synsets()[0]
    assert first["clean"]["name"].startswith("tench")
    assert first["label"]["name"].startswith("goldfish")
    assert first["share_of_clean_class"] == pytest.approx(0.5)
    assert [c["clean"]["index"] for c in confusions] == list(range(10))


def test_concentrated_noise_has_all_its_mass_on_the_top_wrong_labels(known_labels):
    transitions = stats.split_report(known_labels)["transitions"]
    assert transitions["top_wrong_labels_share_mean"] == pytest.approx(1.0)
    assert transitions["num_clean_classes"] == 10
    assert transitions["diagonal_mass"] == pytest.approx(0.5)
    # Each row: half its labels on the clean class, half on the next: 1 bit.
    assert transitions["row_entropy_bits_mean"] == pytest.approx(1.0)


def test_spread_noise_has_high_entropy_and_little_on_the_top_wrong_labels():
    rng = np.random.default_rng(1)
    clean = np.zeros(20_000, np.int64)
    labels = rng.integers(1, upstream.NUM_CLASSES, (20_000, 1))
    transitions = stats.split_report(
        stats.SplitLabels(clean, labels, np.full(labels.shape, 0.1, np.float32))
    )["transitions"]
    assert transitions["row_entropy_bits_mean"] > 9.5  # log2(999) = 9.96
    assert transitions["top_wrong_labels_share_mean"] < 0.02


def test_heatmap_rows_hold_shares_of_the_clean_class_among_confused_classes(known_labels):
    heatmap = stats.split_report(known_labels)["transitions"]["heatmap"]
    indices = [entry["index"] for entry in heatmap["classes"]]
    assert indices == sorted(indices) and {0, 1} <= set(indices)
    shares = np.array(heatmap["shares"])
    row, column = indices.index(0), indices.index(1)
    assert shares[row, row] == pytest.approx(0.5) and shares[row, column] == pytest.approx(0.5)


def test_empty_split_is_refused():
    empty = stats.SplitLabels(
        np.zeros(0, np.int64), np.zeros((0, 16), np.int16), np.zeros((0, 16), np.float32)
    )
    with pytest.raises(ValueError, match="empty split"):
        stats.split_report(empty)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="rows of annotator labels"):
        stats.SplitLabels(np.zeros(3), np.zeros((4, 16)), np.zeros((4, 16)))


def test_clean_labels_come_from_train_synsets_and_validation_ground_truth(small_sample):
    _, sample = small_sample
    np.testing.assert_array_equal(
        synsets.clean_class_indices("train", sample.train_file_names),
        sample.train_clean_labels,
    )
    np.testing.assert_array_equal(
        synsets.clean_class_indices("validation", sample.validation_file_names),
        sample.validation_clean_labels,
    )


def test_annotations_folder_gives_the_labels_of_its_csvs(small_sample):
    manual_dir, sample = small_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "low_noise")
    source = stats.from_annotations_dir(config_dir)
    expected = annotations.read_split(config_dir, "train")
    clean_of = dict(zip(sample.train_file_names, sample.train_clean_labels.tolist()))
    train = source.splits["train"]
    np.testing.assert_array_equal(train.annotator_labels, expected.labels)
    np.testing.assert_array_equal(train.clean_labels, [clean_of[n] for n in expected.names()])
    assert (source.config, source.beta) == ("low_noise", 0.5)


def test_train_name_without_synset_names_the_csv(tmp_path):
    labels = np.zeros((1, 16), np.int16)
    annotations.write_split(tmp_path, "train", ["cat_1.JPEG"], labels, labels + 0.5)
    with pytest.raises(ValueError, match=r"labels/train\.csv.*'cat_1\.JPEG'.*--dataset"):
        stats.from_annotations_dir(tmp_path, ["train"])


def test_missing_annotations_folder_says_what_it_expects(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels/<split>.csv"):
        stats.from_annotations_dir(tmp_path / "nowhere")


def test_a_folder_of_config_folders_names_the_config_folders_to_pass(small_sample):
    """A clone's root holds config folders, not CSVs: say which to pass, not to download."""
    manual_dir, _ = small_sample
    clone = os.path.join(manual_dir, "imagenet_pi")
    with pytest.raises(FileNotFoundError) as error:
        stats.from_annotations_dir(clone)
    message = str(error.value)
    assert "expected a folder holding labels/<split>.csv" in message
    assert os.path.join(clone, "high_noise") in message
    assert os.path.join(clone, "low_noise") in message
    assert "manual_dir" not in message


def test_a_folder_without_csvs_says_what_it_expects(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a folder holding labels/<split>.csv"):
        stats.from_annotations_dir(tmp_path)


def test_built_dataset_gives_the_same_report_as_its_csvs(built_high_noise, small_sample):
    data_dir, _ = built_high_noise
    manual_dir, _ = small_sample
    built = stats.report(stats.from_built_dataset("imagenet_pi/high_noise", data_dir))
    csvs = stats.report(
        stats.from_annotations_dir(os.path.join(manual_dir, "imagenet_pi", "high_noise"))
    )
    assert built["beta"] == csvs["beta"] == 0.1
    assert built["config"] == "high_noise"
    assert built["splits"] == csvs["splits"]


def test_unbuilt_dataset_says_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="not built"):
        stats.from_built_dataset("imagenet_pi/low_noise", tmp_path)


def test_unknown_custom_config_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"imagenet_pi/beta_9: not found in data_dir"):
        stats.from_built_dataset("imagenet_pi/beta_9", tmp_path)
