"""Predictions of keras.applications annotator models over a split (random weights, tiny inputs)."""

from __future__ import annotations

import io
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from imagenet_pi import upstream
from imagenet_pi.relabelling import (
    annotator_predictions,
    keras_models,
    model_inputs,
    parallel_sampling,
    predictions_folder,
)
from imagenet_pi.relabelling.errors import PredictionsError

# Keras' own save_weights trips numpy 2's __array__(copy=...) deprecation once per variable.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

MODELS = ["MobileNetV3Small", "MobileNet"]
INPUT_SIZE = 48
NUM_IMAGES = 7


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def images() -> list[dict]:
    """A handful of ILSVRC-like elements of different sizes, with clean labels."""
    rng = np.random.default_rng(0)
    elements = []
    for index in range(NUM_IMAGES):
        height, width = rng.integers(40, 90, size=2)
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        elements.append(
            {
                "image": _jpeg(pixels),
                "file_name": f"ILSVRC2012_val_{index + 1:08d}.JPEG",
                "clean_label": int(rng.integers(0, upstream.NUM_CLASSES)),
            }
        )
    return elements


def _dataset(elements: list[dict]) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(
        {key: [element[key] for element in elements] for key in elements[0]}
    )


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory) -> dict[str, str]:
    """Random weights whose predictions depend on the image.

    Freshly initialised Keras models fade activations to ~1e-21 and predict exactly uniform
    distributions; setting every batch-norm's statistics from one batch (momentum 0, one
    training-mode call) keeps activations alive.
    """
    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("weights")
    calibration = np.random.default_rng(1).uniform(0, 255, (16, INPUT_SIZE, INPUT_SIZE, 3))
    files = {}
    for name in MODELS:
        model, preprocess_input = keras_models.build_model(name, None, INPUT_SIZE)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.0
        model(preprocess_input(calibration.astype(np.float32)), training=True)
        files[name] = str(folder / f"{name}.weights.h5")
        model.save_weights(files[name])
    return files


@pytest.fixture(scope="module")
def predicted(tmp_path_factory, images, weight_files):
    """Both tiny models run once over a tf.data dataset; shared by the tests that only read."""
    out_dir = tmp_path_factory.mktemp("predictions") / "validation"
    paths = {}
    for name in MODELS:
        paths.update(
            annotator_predictions.predict_split(
                _dataset(images),
                out_dir,
                [name],
                weights=weight_files[name],
                input_size=INPUT_SIZE,
                batch_size=3,
            )
        )
    return out_dir, paths


@pytest.mark.slow
def test_prediction_files_hold_probabilities_per_image(predicted, images):
    out_dir, paths = predicted
    assert set(paths) == set(MODELS)
    for name in MODELS:
        probabilities = np.load(paths[name])
        assert paths[name] == out_dir / f"{name}.npy"
        assert probabilities.dtype == np.float32
        assert probabilities.shape == (NUM_IMAGES, upstream.NUM_CLASSES)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        # Different images give different predictive distributions.
        assert np.abs(probabilities[0] - probabilities[1]).max() > 1e-4
    assert not list(out_dir.glob("*.tmp"))


@pytest.mark.slow
def test_file_names_labels_and_parameter_counts_are_written(predicted, images):
    out_dir, _ = predicted
    assert predictions_folder.read_file_names(out_dir).tolist() == [e["file_name"] for e in images]
    clean_labels = np.load(out_dir / predictions_folder.CLEAN_LABELS_FILE)
    np.testing.assert_array_equal(clean_labels, [e["clean_label"] for e in images])
    counts = json.loads((out_dir / predictions_folder.PARAMETER_COUNTS_FILE).read_text())
    # MobileNet (alpha 1, 1000 classes) has 4,253,864 parameters at any input size.
    assert counts["MobileNet"] == 4_253_864
    assert 1e6 < counts["MobileNetV3Small"] < counts["MobileNet"]


@pytest.mark.slow
def test_predictions_feed_relabelling(predicted):
    out_dir, paths = predicted
    file_names = predictions_folder.read_file_names(out_dir)
    labels, confidences = parallel_sampling.relabel_split(list(paths.values()), file_names, 0.5, 0)
    assert labels.shape == (NUM_IMAGES, len(MODELS))
    assert labels.min() >= 0 and labels.max() < upstream.NUM_CLASSES
    for column, name in enumerate(MODELS):
        probabilities = np.load(paths[name])
        np.testing.assert_array_equal(
            confidences[:, column], probabilities[np.arange(NUM_IMAGES), labels[:, column]]
        )


@pytest.mark.slow
def test_iterable_of_arrays_gives_same_predictions_as_dataset(
    tmp_path, images, predicted, weight_files
):
    # Decoded by TensorFlow as the dataset path does (PIL's JPEG decoder differs slightly).
    decoded = [
        (tf.io.decode_jpeg(e["image"]).numpy(), e["file_name"], e["clean_label"]) for e in images
    ]
    from_iterable = annotator_predictions.predict_split(
        decoded,
        tmp_path,
        ["MobileNet"],
        weights=weight_files["MobileNet"],
        input_size=INPUT_SIZE,
        batch_size=4,
    )
    _, from_dataset = predicted
    np.testing.assert_allclose(
        np.load(from_iterable["MobileNet"]), np.load(from_dataset["MobileNet"]), atol=1e-6
    )


@pytest.mark.slow
def test_complete_models_are_skipped_when_resuming(tmp_path, images):
    out_dir = tmp_path / "train"
    first = annotator_predictions.predict_split(
        images, out_dir, ["MobileNet"], weights=None, input_size=INPUT_SIZE
    )
    before = os.stat(first["MobileNet"])
    (out_dir / "MobileNetV3Small.npy.tmp").write_bytes(b"left by an interrupted run")
    annotator_predictions.predict_split(
        images, out_dir, MODELS, weights=None, input_size=INPUT_SIZE, batch_size=5
    )
    after = os.stat(first["MobileNet"])  # a rerun would have renamed a new file over it
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert np.load(out_dir / "MobileNetV3Small.npy").shape == (NUM_IMAGES, 1000)
    assert not (out_dir / "MobileNetV3Small.npy.tmp").exists()
    assert set(json.loads((out_dir / predictions_folder.PARAMETER_COUNTS_FILE).read_text())) == set(
        MODELS
    )


@pytest.mark.slow
def test_images_in_another_order_are_refused(tmp_path, images):
    annotator_predictions.predict_split(
        images, tmp_path, ["MobileNet"], weights=None, input_size=INPUT_SIZE
    )
    with pytest.raises(PredictionsError, match="image 0 is .*_00000007.JPEG"):
        annotator_predictions.predict_split(
            images[::-1], tmp_path, ["MobileNetV3Small"], weights=None, input_size=INPUT_SIZE
        )
    assert not (tmp_path / "MobileNetV3Small.npy").exists()
    assert not (tmp_path / "MobileNetV3Small.npy.tmp").exists()


def test_other_number_of_images_than_earlier_predictions_is_refused(tmp_path, images):
    (tmp_path / predictions_folder.FILE_NAMES_FILE).write_text("a.JPEG\nb.JPEG\n")
    with pytest.raises(PredictionsError, match="holds 2 file names .* 7 images"):
        annotator_predictions.predict_split(images, tmp_path, ["MobileNet"], weights=None)


@pytest.mark.slow
def test_images_without_labels_write_no_clean_labels(tmp_path, images):
    unlabelled = [(e["image"], e["file_name"]) for e in images]
    annotator_predictions.predict_split(
        unlabelled, tmp_path, ["MobileNet"], weights=None, input_size=INPUT_SIZE
    )
    assert (tmp_path / "MobileNet.npy").is_file()
    assert not (tmp_path / predictions_folder.CLEAN_LABELS_FILE).exists()


def test_unknown_length_needs_num_examples(tmp_path, images):
    with pytest.raises(PredictionsError, match="pass num_examples"):
        annotator_predictions.predict_split(iter(images), tmp_path, ["MobileNet"], weights=None)


@pytest.mark.slow
def test_fewer_images_than_announced_is_an_error(tmp_path, images):
    with pytest.raises(PredictionsError, match="expected 9 images, found 7"):
        annotator_predictions.predict_split(
            iter(images),
            tmp_path,
            ["MobileNet"],
            weights=None,
            input_size=INPUT_SIZE,
            num_examples=9,
        )
    assert not (tmp_path / "MobileNet.npy").exists()
    assert not (tmp_path / "MobileNet.npy.tmp").exists()


def test_unknown_model_is_refused(tmp_path, images):
    with pytest.raises(ValueError, match="NASNetLarge"):
        annotator_predictions.predict_split(images, tmp_path, ["NASNetLarge"], weights=None)


def _predict(images, out_dir, models, **options):
    options = {"weights": None, "input_size": INPUT_SIZE, "batch_size": 4, **options}
    return annotator_predictions.predict_split(images, out_dir, models, **options)


@pytest.mark.slow
def test_settings_of_each_model_are_recorded(predicted, weight_files):
    out_dir, _ = predicted
    settings = json.loads((out_dir / predictions_folder.PREDICTION_SETTINGS_FILE).read_text())
    assert set(settings) == set(MODELS)
    mobilenet = settings["MobileNet"]
    assert (mobilenet["weights"], mobilenet["input_size"], mobilenet["crop_fraction"]) == (
        "file",
        INPUT_SIZE,
        model_inputs.DEFAULT_CROP_FRACTION,
    )
    assert mobilenet["weights_file"] == os.path.realpath(weight_files["MobileNet"])
    assert len(mobilenet["weights_sha256"]) == 64


@pytest.mark.slow
def test_resuming_with_another_input_size_is_refused(tmp_path, images):
    _predict(images, tmp_path, ["MobileNet"])
    before = os.stat(tmp_path / "MobileNet.npy")
    with pytest.raises(PredictionsError) as error:
        _predict(images, tmp_path, ["MobileNet", "MobileNetV3Small"], input_size=64)
    message = str(error.value)
    assert message.startswith(f"{tmp_path}: MobileNet.npy was predicted with weights none, ")
    assert f"input size {INPUT_SIZE}, crop fraction 0.875" in message
    assert "this run asks for weights none, input size 64" in message
    assert "Predict into a new folder (--out)" in message
    assert not (tmp_path / "MobileNetV3Small.npy").exists()
    after = os.stat(tmp_path / "MobileNet.npy")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.slow
def test_adding_a_model_with_another_crop_fraction_is_refused(tmp_path, images):
    _predict(images, tmp_path, ["MobileNet"])
    with pytest.raises(PredictionsError, match="crop fraction 0.5"):
        _predict(images, tmp_path, ["MobileNetV3Small"], crop_fraction=0.5)
    assert not (tmp_path / "MobileNetV3Small.npy").exists()


@pytest.mark.slow
def test_resuming_with_other_weights_is_refused(tmp_path, images, weight_files):
    _predict(images, tmp_path, ["MobileNet"])
    with pytest.raises(PredictionsError, match="the weights file .*MobileNet"):
        _predict(images, tmp_path, ["MobileNet"], weights=weight_files["MobileNet"])


@pytest.mark.slow
def test_each_model_keeps_its_own_weights_file(tmp_path, images, weight_files):
    for name in MODELS:
        _predict(images, tmp_path, [name], weights=weight_files[name])
    settings = predictions_folder.read_prediction_settings(tmp_path)
    assert {settings[name]["weights_file"] for name in MODELS} == {
        os.path.realpath(weight_files[name]) for name in MODELS
    }
    # The same model with another file is another set of predictions.
    with pytest.raises(PredictionsError, match="MobileNet.npy was predicted"):
        _predict(images, tmp_path, ["MobileNet"], weights=weight_files["MobileNetV3Small"])


def test_predictions_without_recorded_settings_are_refused(tmp_path, images):
    predictions_folder.write_file_names(tmp_path, [e["file_name"] for e in images])
    probabilities = np.full((NUM_IMAGES, upstream.NUM_CLASSES), 1e-3, np.float32)
    np.save(tmp_path / "MobileNet.npy", probabilities)
    with pytest.raises(PredictionsError) as error:
        _predict(images, tmp_path, ["MobileNetV3Small", "MobileNet"])
    assert f"{tmp_path}: MobileNet.npy has no recorded settings" in str(error.value)
    assert not (tmp_path / "MobileNetV3Small.npy").exists()


def test_input_size_a_model_does_not_take_is_refused_before_anything(tmp_path, images):
    out_dir = tmp_path / "new" / "validation"
    with pytest.raises(PredictionsError, match="InceptionV3 takes at least 75"):
        _predict(images, out_dir, ["MobileNet", "InceptionV3"], input_size=74)
    assert not (tmp_path / "new").exists()


def test_missing_weights_file_is_refused_before_anything(tmp_path, images):
    with pytest.raises(PredictionsError, match="'nope.h5', which is not a file"):
        _predict(images, tmp_path / "new", ["MobileNet"], weights="nope.h5")
    assert not (tmp_path / "new").exists()


def test_failed_prediction_leaves_no_folder_it_made(tmp_path, images):
    broken = [*images[:3], {"image": b"not an image", "file_name": "x.JPEG"}, *images[4:]]
    with pytest.raises(Exception):  # noqa: B017 (TensorFlow's decoding error)
        _predict(broken, tmp_path / "new" / "validation", ["MobileNetV3Small"])
    assert not (tmp_path / "new").exists()
