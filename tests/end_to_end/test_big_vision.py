"""The big_vision pp strings of docs/big-vision.md work on a build read the way big_vision reads it.

big_vision is not installable from PyPI; `big_vision_pp` holds its few ops used here.
The pp strings and the data config are parsed from that page, so the two cannot drift.
Reading happens in a subprocess that never imports imagenet_pi, as in big_vision.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap

import doc_pages
import numpy as np
import pytest

from imagenet_pi import fake_data

# The shared test helpers (big_vision_pp) are in tests/, one folder up.
_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PI = ("annotator_labels", "annotator_confidences", "annotator_features")


def _readme_constants() -> dict:
    """The module-level constants of the docs' big_vision block (literals and dict(...))."""
    code = doc_pages.snippet("big-vision-pp")
    constants = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
                constants[node.targets[0].id] = {
                    keyword.arg: ast.literal_eval(keyword.value) for keyword in value.keywords
                }
            else:
                constants[node.targets[0].id] = ast.literal_eval(value)
    return constants


# What big_vision's TFDS data source does (big_vision/datasets/tfds.py): tfds.builder with
# the config's name and data_dir, images left encoded, tfds_id added; then the pp function.
_READ_AS_BIG_VISION = """
import json, sys
import numpy as np
import tensorflow_datasets as tfds

tests_dir, data_dir, constants_json, out = sys.argv[1:]
sys.path.insert(0, tests_dir)
import big_vision_pp

constants = json.loads(constants_json)
name = constants["DATA"]["name"]
builder = tfds.builder(name, data_dir=data_dir, try_gcs=True)
facts = {
    "version": str(builder.version),
    "features": sorted(builder.info.features),
    "bare_name_version": str(tfds.builder("imagenet_pi", data_dir=data_dir).version),
    "bare_name_prepared": tfds.builder("imagenet_pi", data_dir=data_dir).is_prepared(),
}
arrays = {}
runs = [
    ("PP_TRAIN", "train[:99%]"),
    ("PP_TRAIN_ONE_ANNOTATOR", "train[:99%]"),
    ("PP_EVAL", "validation"),
    ('onehot(1000, key="annotator_labels", key_result="labels")', "train"),  # multi=True
]
for index, (pp, split) in enumerate(runs):
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=False,
        read_config=tfds.ReadConfig(skip_prefetch=True, try_autocache=False, add_tfds_id=True),
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    preprocess = big_vision_pp.preprocess_fn(constants.get(pp, pp))
    pairs = dataset.map(lambda example: (example, preprocess(dict(example))))
    raws, outputs = zip(*tfds.as_numpy(pairs))
    facts[f"keys_{index}"] = sorted(outputs[0])
    for field in ("clean_label", "annotator_labels", "annotator_confidences", "annotator_features"):
        arrays[f"{index}_raw_{field}"] = np.stack([raw[field] for raw in raws])
    for field in outputs[0]:
        arrays[f"{index}_{field}"] = np.stack([output[field] for output in outputs])
facts["imported_imagenet_pi"] = any(module.startswith("imagenet_pi") for module in sys.modules)
np.savez(out, **arrays)
print(json.dumps(facts))
"""


@pytest.fixture(scope="module")
def read_as_big_vision(built_high_noise, tmp_path_factory) -> tuple[dict, dict]:
    data_dir, _ = built_high_noise
    constants = _readme_constants()
    assert constants["DATA"]["name"] == "imagenet_pi/high_noise", (
        "the big_vision block of the docs reads another config than the shared build "
        "(`built_high_noise`): build that config here"
    )
    out = str(tmp_path_factory.mktemp("out") / "arrays.npz")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_READ_AS_BIG_VISION),
            _TESTS_DIR,
            data_dir,
            json.dumps(constants),
            out,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    with np.load(out) as arrays:
        return facts, dict(arrays)


def test_readme_data_config_names_a_config():
    assert _readme_constants()["DATA"]["name"] == "imagenet_pi/high_noise"


@pytest.mark.slow
def test_big_vision_reads_the_build_without_importing_the_package(read_as_big_vision):
    facts, _ = read_as_big_vision
    assert not facts["imported_imagenet_pi"]


@pytest.mark.slow
def test_big_vision_finds_the_current_version_with_every_pi_feature(read_as_big_vision):
    facts, _ = read_as_big_vision
    assert facts["version"] == "3.0.0"
    assert {"clean_label", *_PI} <= set(facts["features"])


@pytest.mark.slow
def test_bare_name_is_tfds_own_builder_not_this_build(read_as_big_vision):
    # The trap the docs warn about.
    facts, _ = read_as_big_vision
    assert facts["bare_name_version"] == "1.0.0" and not facts["bare_name_prepared"]


def _check_images(images: np.ndarray, num_examples: int) -> None:
    assert images.shape == (num_examples, 224, 224, 3) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0.05


@pytest.mark.slow
def test_training_pp_gives_all_16_annotator_labels_as_targets_and_keeps_the_pi(
    read_as_big_vision,
):
    facts, arrays = read_as_big_vision
    assert facts["keys_0"] == sorted(["image", "labels", *_PI])
    num_examples = len(arrays["0_raw_clean_label"])
    _check_images(arrays["0_image"], num_examples)
    labels = arrays["0_labels"]
    assert labels.shape == (num_examples, 16, 1000) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.sum(-1), 1)
    np.testing.assert_array_equal(labels.argmax(-1), arrays["0_raw_annotator_labels"])
    for field in _PI:
        np.testing.assert_array_equal(arrays[f"0_{field}"], arrays[f"0_raw_{field}"])


@pytest.mark.slow
def test_one_annotator_pp_draws_one_of_the_16_labels_per_example(read_as_big_vision):
    facts, arrays = read_as_big_vision
    assert facts["keys_1"] == sorted(["image", "labels", *_PI])
    labels = arrays["1_labels"]
    assert labels.shape == (len(arrays["1_raw_clean_label"]), 1000)
    np.testing.assert_array_equal(labels.sum(-1), 1)
    drawn = labels.argmax(-1)
    assert all(label in row for label, row in zip(drawn, arrays["1_raw_annotator_labels"]))
    np.testing.assert_array_equal(arrays["1_annotator_labels"], arrays["1_raw_annotator_labels"])


@pytest.mark.slow
def test_evaluation_pp_one_hots_the_clean_label(read_as_big_vision):
    facts, arrays = read_as_big_vision
    assert facts["keys_2"] == ["image", "labels"]
    num_examples = fake_data.SMALL_SAMPLE["num_validation"]
    _check_images(arrays["2_image"], num_examples)
    labels = arrays["2_labels"]
    assert labels.shape == (num_examples, 1000)
    np.testing.assert_array_equal(labels.argmax(-1), arrays["2_raw_clean_label"])
    np.testing.assert_array_equal(labels.sum(-1), 1)


@pytest.mark.slow
def test_onehot_default_multi_merges_the_16_labels(read_as_big_vision):
    # Why the docs say multi=False: big_vision's default gives one multi-hot vector.
    _, arrays = read_as_big_vision
    merged, raw = arrays["3_labels"], arrays["3_raw_annotator_labels"]
    assert merged.shape == (len(raw), 1000)
    distinct = np.array([len(set(row)) for row in raw])
    np.testing.assert_array_equal(merged.sum(-1), distinct)
    assert (distinct < 16).any()  # repeated labels count once: information is lost
