"""Where the PI CSVs come from: TFDS's imagenet_pi layout, and downloads that fail fast.

Synthetic CSVs pass for a released config through the production mechanism: a
checksums.tsv of the test's own, read by a builder subclass (tests/csv_pins.py).
Downloads go to 127.0.0.1 only; every proxy points at a closed local port, so a stray
request to the real network fails at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

import builds
import csv_pins
import numpy as np
import pytest
import tensorflow_datasets as tfds
import tfds_command

import imagenet_pi
from imagenet_pi import annotations, fake_data, upstream
from imagenet_pi.annotations import origins, releases

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
_FEATURES = upstream.ANNOTATOR_FEATURES_RELPATH
_SUBPROCESS_TIMEOUT = 240  # the hang guard; TFDS's own retries take about 3.5 minutes


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    for key, value in csv_pins.no_network_env({}).items():
        monkeypatch.setenv(key, value)


@dataclasses.dataclass
class FlatSample:
    manual_dir: str
    sample: fake_data.FakeIlsvrc
    released: dict[str, dict[str, str]]  # config -> rel -> synthetic "released" file
    checksums: str  # a checksums.tsv pinning `released` at the upstream URLs
    builder_cls: type[imagenet_pi.Builder]


@pytest.fixture
def flat_sample(tmp_path) -> FlatSample:
    """Tars plus high_noise's synthetic CSVs in TFDS's layout, annotator_features.csv beside."""
    manual_dir = str(tmp_path / "manual")
    sample = fake_data.write_ilsvrc_tars(manual_dir, **fake_data.SMALL_SAMPLE)
    released = {}
    for config, level in upstream.NOISE_LEVELS.items():
        folder = str(tmp_path / "released" / config)
        fake_data.write_annotations(
            folder,
            {"train": sample.train_file_names, "validation": sample.validation_file_names},
            {"train": sample.train_clean_labels, "validation": sample.validation_clean_labels},
            beta=level.beta,
        )
        released[config] = origins.files_in_dir(folder)
    _copy_flat(released["high_noise"], manual_dir, [*upstream.split_csv_relpaths(), _FEATURES])
    checksums = csv_pins.write_checksums(str(tmp_path / "checksums.tsv"), released)
    return FlatSample(manual_dir, sample, released, checksums, csv_pins.builder_class(checksums))


def _copy_flat(files: dict[str, str], manual_dir: str, rels) -> None:
    for rel in rels:
        os.makedirs(os.path.dirname(os.path.join(manual_dir, rel)), exist_ok=True)
        shutil.copyfile(files[rel], os.path.join(manual_dir, rel))


def _build(builder_cls, manual_dir: str, data_dir: str, config: str = "high_noise"):
    builder = builder_cls(config=config, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def _downloaded_csvs(data_dir: str) -> list[str]:
    return [
        os.path.join(root, name)
        for root, _, names in os.walk(os.path.join(data_dir, "downloads"))
        for name in names
        if name.endswith(".csv")
    ]


def _assert_nothing_built(data_dir: str) -> None:
    assert not os.path.exists(os.path.join(data_dir, "imagenet_pi", "high_noise", "2.0.0"))
    assert not os.path.exists(os.path.join(data_dir, "imagenet_pi", "low_noise", "2.0.0"))


# --- Identifying files against a pinned table --------------------------------------------


def _write(path, payload: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(payload)
    return str(path)


def _pin(path: str, url: str = "https://example.invalid/x") -> releases.PinnedFile:
    return releases.PinnedFile(url, os.path.getsize(path), releases.sha256_of(path))


@pytest.fixture
def pinned_table(tmp_path):
    """A synthetic pinned table of two configs whose files differ in size, and the files."""
    files = {
        "a": {"labels/train.csv": _write(tmp_path / "a" / "lt", b"x.JPEG,1\n" * 3)},
        "b": {"labels/train.csv": _write(tmp_path / "b" / "lt", b"x.JPEG,22\n" * 3)},
    }
    for config, size in (("a", 5), ("b", 7)):
        files[config]["labels/validation.csv"] = _write(tmp_path / config / "lv", b"v" * size)
    pinned = {c: {rel: _pin(path) for rel, path in fs.items()} for c, fs in files.items()}
    return pinned, files


def test_identify_release_names_the_config_whose_sizes_and_sha256_match(pinned_table):
    pinned, files = pinned_table
    assert releases.identify_release(files["b"], pinned).config == "b"
    assert releases.identify_release(files["a"], pinned).config == "a"


def test_right_size_other_bytes_is_no_release_and_says_which_file(pinned_table, tmp_path):
    pinned, files = pinned_table
    edited = dict(files["a"])
    edited["labels/train.csv"] = _write(tmp_path / "edited", b"x.JPEG,2\n" * 3)  # same size
    match = releases.identify_release(edited, pinned)
    assert match.config is None
    assert "damaged or edited" in match.findings["labels/train.csv"]
    assert match.findings["labels/validation.csv"] == "a's"


def test_files_of_two_configs_are_no_release(pinned_table):
    pinned, files = pinned_table
    mixed = {"labels/train.csv": files["a"]["labels/train.csv"]}
    mixed["labels/validation.csv"] = files["b"]["labels/validation.csv"]
    match = releases.identify_release(mixed, pinned)
    assert match.config is None
    assert "the size of a's" in match.findings["labels/train.csv"]
    assert "the size of b's" in match.findings["labels/validation.csv"]


def test_unknown_size_and_lfs_pointer_are_named_per_file(pinned_table, tmp_path):
    pinned, _ = pinned_table
    odd = {
        "labels/train.csv": _write(
            tmp_path / "pointer", upstream.LFS_POINTER_PREFIX + b"\noid sha256:00\nsize 9\n"
        ),
        "labels/validation.csv": _write(tmp_path / "odd", b"v" * 6),
    }
    match = releases.identify_release(odd, pinned)
    assert match.config is None
    assert "Git LFS pointer" in match.findings["labels/train.csv"]
    assert match.findings["labels/validation.csv"] == "6 bytes, the size of no released file"


def test_sha256_of_follows_a_file_rewritten_with_the_same_size(tmp_path):
    # A remembered sum is keyed by the file's inode, size and times, never by its path alone.
    path = tmp_path / "labels.csv"
    for text in (b"a,1\n", b"b,1\n", b"c,1\n"):
        path.write_bytes(text)
        assert releases.sha256_of(path) == hashlib.sha256(text).hexdigest()


def test_pinned_files_reads_every_released_url_from_the_real_checksums():
    pins = releases.pinned_files(imagenet_pi.Builder.url_infos)
    assert sorted(pins) == sorted(upstream.NOISE_LEVELS)
    high = pins["high_noise"]["labels/train.csv"]
    assert (high.size, high.sha256[:8]) == (107082946, "edd1a2d6")
    assert high.url == upstream.lfs_url("high_noise", "labels/train.csv")
    assert pins["low_noise"][_FEATURES].sha256 == pins["high_noise"][_FEATURES].sha256
    with pytest.raises(ValueError, match="checksums.tsv.*Reinstall"):
        releases.pinned_files({})


# --- Partial flat layouts ----------------------------------------------------------------

_PARTIAL_LAYOUTS = {
    "only labels/": ["labels/train.csv", "labels/validation.csv"],
    "only confidences/": ["confidences/train.csv", "confidences/validation.csv"],
    "only train files": ["labels/train.csv", "confidences/train.csv"],
    "one file missing": ["labels/train.csv", "labels/validation.csv", "confidences/train.csv"],
    "empty labels/": [],
}


@pytest.mark.parametrize("layout", sorted(_PARTIAL_LAYOUTS))
def test_partial_flat_layout_names_what_is_found_and_missing(flat_sample, tmp_path, layout):
    manual_dir = str(tmp_path / "partial")
    os.makedirs(os.path.join(manual_dir, "labels"))
    _copy_flat(flat_sample.released["high_noise"], manual_dir, _PARTIAL_LAYOUTS[layout])
    with pytest.raises(origins.AnnotationFilesError, match="is incomplete") as error:
        origins.flat_layout_files(manual_dir)
    message = str(error.value)
    assert manual_dir in message
    missing = message.split("missing ")[1].split(". It needs")[0]
    for rel in upstream.split_csv_relpaths():
        assert (rel in missing) == (rel not in _PARTIAL_LAYOUTS[layout]), (rel, message)
    assert "Coming from TFDS's imagenet_pi" in message


def test_misnamed_flat_files_are_listed(tmp_path):
    _write(tmp_path / "labels" / "labels-train.csv", b"x")  # the upstream README's name
    with pytest.raises(origins.AnnotationFilesError, match="labels/labels-train.csv"):
        origins.flat_layout_files(tmp_path)


def test_manual_dir_without_labels_or_confidences_has_no_flat_layout(tmp_path):
    assert origins.flat_layout_files(tmp_path) is None


def test_partial_flat_layout_fails_the_build_without_downloading(flat_sample, tmp_path):
    shutil.rmtree(os.path.join(flat_sample.manual_dir, "confidences"))
    with pytest.raises(origins.AnnotationFilesError, match="confidences/train.csv"):
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert _downloaded_csvs(str(tmp_path / "data")) == []
    _assert_nothing_built(str(tmp_path / "data"))


# --- Building from TFDS's imagenet_pi layout ---------------------------------------------


def test_tfds_flat_layout_builds_the_config_it_is(flat_sample, tmp_path):
    builder = _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert builder.info.metadata["annotations_source"].startswith(flat_sample.manual_dir)
    assert "TFDS's imagenet_pi layout" in builder.info.metadata["annotations_source"]
    expected = annotations.read_split_files(
        os.path.join(flat_sample.manual_dir, "labels", "validation.csv"),
        os.path.join(flat_sample.manual_dir, "confidences", "validation.csv"),
    )
    dataset = builder.as_dataset(split="validation", decoders={"image": tfds.decode.SkipDecoding()})
    examples = list(tfds.as_numpy(dataset))
    assert len(examples) == len(flat_sample.sample.validation_file_names)
    for example in examples:
        row = expected.row(example["file_name"].decode())
        np.testing.assert_array_equal(example["annotator_labels"], expected.labels[row])
    features = annotations.read_annotator_features(os.path.join(flat_sample.manual_dir, _FEATURES))
    np.testing.assert_array_equal(imagenet_pi.annotator_features(builder), features)
    assert builder.info.splits["train"].num_examples == len(flat_sample.sample.train_file_names)


def test_tfds_flat_layout_of_the_other_config_says_which_it_is(flat_sample, tmp_path):
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError, match="are high_noise's") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir, config="low_noise")
    assert "Build imagenet_pi/high_noise" in str(error.value)
    assert os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise") in str(error.value)
    _assert_nothing_built(data_dir)


def test_tfds_flat_layout_of_no_release_points_to_custom_configs(flat_sample, tmp_path):
    # The real pins: synthetic files match no released size.
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError, match="not a released version") as error:
        _build(imagenet_pi.Builder, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert "imagenet_pi.custom_config" in message and '"Any noise level"' in message
    for rel in upstream.split_csv_relpaths():
        assert f"{rel}: " in message
    _assert_nothing_built(data_dir)


def test_flat_layout_of_mixed_configs_is_refused(flat_sample, tmp_path):
    _copy_flat(flat_sample.released["low_noise"], flat_sample.manual_dir, ["labels/train.csv"])
    with pytest.raises(origins.FlatLayoutError, match="not a released version") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert "labels/train.csv: " in str(error.value) and "low_noise's" in str(error.value)


def test_a_config_folder_is_used_before_the_flat_layout(flat_sample, tmp_path):
    clone = os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise")
    _copy_flat(flat_sample.released["low_noise"], clone, upstream.config_relpaths())
    builder = _build(
        flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"), "low_noise"
    )
    assert builder.info.metadata["annotations_source"] == clone


def test_flat_layout_takes_annotator_features_from_a_clone(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    clone = os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise")  # other config
    _copy_flat(flat_sample.released["low_noise"], clone, [_FEATURES])
    builder = _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    expected = annotations.read_annotator_features(os.path.join(clone, _FEATURES))
    np.testing.assert_array_equal(imagenet_pi.annotator_features(builder), expected)


def test_flat_layout_downloads_the_pinned_annotator_features_when_absent(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    served = str(tmp_path / "served")
    _copy_flat(flat_sample.released["high_noise"], os.path.join(served, "high_noise"), [_FEATURES])
    served_file = os.path.join(served, "high_noise", _FEATURES)
    with csv_pins.local_server(files_dir=served) as url_root:
        tsv = csv_pins.write_checksums(str(tmp_path / "t.tsv"), flat_sample.released, url_root)
        builder_cls = csv_pins.builder_class(tsv, url_root)
        builder = _build(builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    expected = annotations.read_annotator_features(flat_sample.released["high_noise"][_FEATURES])
    np.testing.assert_array_equal(imagenet_pi.annotator_features(builder), expected)
    downloaded = _downloaded_csvs(str(tmp_path / "data"))
    assert len(downloaded) == 1
    with open(downloaded[0], "rb") as f, open(served_file, "rb") as g:
        assert f.read() == g.read()


def test_other_annotator_features_beside_flat_layout_are_refused(flat_sample, tmp_path):
    path = os.path.join(flat_sample.manual_dir, _FEATURES)
    with open(path, "a") as f:
        f.write("0.0,0.0\n")
    with pytest.raises(origins.FlatLayoutError, match="not the released") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert path in str(error.value)
    _assert_nothing_built(str(tmp_path / "data"))


def test_incomplete_pi_folder_names_missing_csv(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    missing = os.path.join(manual_dir, "imagenet_pi", "high_noise", "confidences", "validation.csv")
    os.remove(missing)
    with pytest.raises(origins.AnnotationFilesError, match="git lfs") as error:
        builds.build(manual_dir, str(tmp_path / "data"))
    assert missing in str(error.value)
    builds.assert_nothing_finished(str(tmp_path / "data"))


# --- A space before a comma, as the user meets it ---------------------------------------


@pytest.mark.slow
def test_tfds_build_names_the_file_line_and_name_of_a_space_before_a_comma(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, "imagenet_pi", "high_noise", "confidences", "train.csv")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    name = lines[2].split(b",")[0].decode()
    lines[2] = lines[2].replace(b",", b" ,", 1)
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))
    result = tfds_command.tfds_build("imagenet_pi/high_noise", manual_dir, str(tmp_path / "data"))
    assert result.returncode != 0
    expected = f"{path}, line 3: the file name '{name} ' ends with whitespace"
    assert expected in result.stderr, result.stderr[-3000:]
    assert "do not annotate the same" not in result.stderr


# --- A folder where a file should be, in every layout ------------------------------------


def _folder_in_place_of(path: str) -> None:
    """Replaces a file by a folder of its name holding it, as some unzipping tools leave it."""
    moved = path + ".moved"
    os.rename(path, moved)
    os.mkdir(path)
    os.rename(moved, os.path.join(path, os.path.basename(path)))


def _folder_message_start(path: str) -> str:
    return f"{path} is a folder (holding {os.path.basename(path)}), not a file"


@pytest.mark.parametrize("rel", upstream.config_relpaths())
def test_folder_in_place_of_a_file_of_a_clone_fails_the_build_saying_so(
    fresh_sample, tmp_path, rel
):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, "imagenet_pi", "high_noise", rel)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(imagenet_pi.Builder, manual_dir, data_dir)
    message = str(error.value)
    assert _folder_message_start(path) in message, message
    assert "missing" not in message and "Put each CSV file itself in its place" in message
    _assert_nothing_built(data_dir)


def test_folder_in_place_of_a_file_of_a_config_folder_fails_the_build_saying_so(
    fresh_sample, tmp_path
):
    manual_dir, _ = fresh_sample
    config_dir = os.path.join(manual_dir, "high_noise")
    os.rename(os.path.join(manual_dir, "imagenet_pi", "high_noise"), config_dir)
    path = os.path.join(config_dir, "confidences", "validation.csv")
    _folder_in_place_of(path)
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(imagenet_pi.Builder, manual_dir, str(tmp_path / "data"))
    assert _folder_message_start(path) in str(error.value), str(error.value)


def test_folder_in_place_of_a_file_of_a_custom_config_is_refused_saying_so(fresh_sample):
    manual_dir, _ = fresh_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    path = os.path.join(config_dir, "labels", "train.csv")
    _folder_in_place_of(path)
    with pytest.raises(origins.AnnotationFilesError) as error:
        imagenet_pi.custom_config(config_dir, name="mine", beta=0.3)
    assert _folder_message_start(path) in str(error.value), str(error.value)


@pytest.mark.parametrize("rel", upstream.split_csv_relpaths())
def test_folder_in_place_of_a_csv_of_the_flat_layout_fails_the_build_saying_so(
    flat_sample, tmp_path, rel
):
    path = os.path.join(flat_sample.manual_dir, rel)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert f"; {rel} is a folder (holding {os.path.basename(rel)}), not a file" in message, message
    assert "missing" not in message
    assert _downloaded_csvs(data_dir) == []
    _assert_nothing_built(data_dir)


def test_folder_in_place_of_annotator_features_beside_the_flat_layout_is_refused(
    flat_sample, tmp_path
):
    path = os.path.join(flat_sample.manual_dir, _FEATURES)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError) as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert message.startswith(_folder_message_start(path)), message
    assert "expected the released annotator_features.csv" in message
    _assert_nothing_built(data_dir)


# --- Failing downloads (in a subprocess: a download can hang) ----------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {tests_dir!r})
    import tensorflow_datasets as tfds
    import csv_pins
    args = json.loads(sys.argv[1])
    builder_cls = csv_pins.builder_class(args["checksums"], args["url_root"])
    builder = builder_cls(config=args["config"], data_dir=args["data_dir"])
    start = time.monotonic()
    try:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=args["manual_dir"])
        )
        outcome = {{"error": None}}
    except Exception as error:
        outcome = {{"error": type(error).__name__, "message": str(error)}}
    outcome["seconds"] = time.monotonic() - start
    print("OUTCOME " + json.dumps(outcome))
    """
).format(tests_dir=_TESTS_DIR)


def _build_in_subprocess(manual_dir, data_dir, checksums, url_root, config="high_noise"):
    args = dict(
        manual_dir=manual_dir,
        data_dir=data_dir,
        checksums=checksums,
        url_root=url_root,
        config=config,
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=_SUBPROCESS_TIMEOUT,
        env=csv_pins.no_network_env(dict(os.environ)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("OUTCOME "))
    return json.loads(line[len("OUTCOME ") :])


@pytest.fixture
def tars_only(tmp_path) -> str:
    manual_dir = str(tmp_path / "manual")
    fake_data.write_ilsvrc_tars(manual_dir, **fake_data.SMALL_SAMPLE)
    return manual_dir


def _assert_names_the_local_options(message: str, manual_dir: str, config: str) -> None:
    assert os.path.join(manual_dir, "imagenet_pi") + "/" in message  # a clone
    assert os.path.join(manual_dir, config) + "/" in message  # a config folder
    assert os.path.join(manual_dir, "labels") + "/" in message  # TFDS's layout
    assert os.path.join(manual_dir, "confidences") + "/" in message
    assert "git lfs" in message and '"2. The ImageNet-PI CSVs"' in message


def test_offline_build_fails_within_seconds_naming_the_local_options(tars_only, tmp_path):
    url_root = csv_pins.closed_port_url_root()
    checksums = csv_pins.copy_checksums(str(tmp_path / "checksums.tsv"), url_root)
    outcome = _build_in_subprocess(tars_only, str(tmp_path / "data"), checksums, url_root)
    assert outcome["error"] == "CsvDownloadError", outcome
    assert outcome["message"].startswith("Could not download the ImageNet-PI CSVs of high_noise")
    assert "Connection" in outcome["message"] and url_root in outcome["message"]
    _assert_names_the_local_options(outcome["message"], tars_only, "high_noise")
    assert outcome["seconds"] < 30, outcome  # TFDS's own retries took about 210 s
    _assert_nothing_built(str(tmp_path / "data"))


@pytest.mark.slow
def test_http_403_over_quota_gets_the_same_guidance(tars_only, tmp_path):
    body = b"This repository is over its data quota. Account responsible for LFS bandwidth..."
    with csv_pins.local_server(status=403, body=body) as server_root:
        url_root = f"{server_root}/media"
        checksums = csv_pins.copy_checksums(str(tmp_path / "checksums.tsv"), url_root)
        outcome = _build_in_subprocess(
            tars_only, str(tmp_path / "data"), checksums, url_root, config="low_noise"
        )
    assert outcome["error"] == "CsvDownloadError", outcome
    assert "HTTP code: 403" in outcome["message"] and "data quota" in outcome["message"]
    _assert_names_the_local_options(outcome["message"], tars_only, "low_noise")


@pytest.mark.slow
def test_offline_flat_layout_without_annotator_features_says_where_to_put_it(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    url_root = csv_pins.closed_port_url_root()
    checksums = csv_pins.write_checksums(str(tmp_path / "t.tsv"), flat_sample.released, url_root)
    outcome = _build_in_subprocess(
        flat_sample.manual_dir, str(tmp_path / "data"), checksums, url_root
    )
    assert outcome["error"] == "CsvDownloadError", outcome
    assert outcome["message"].startswith("Could not download annotator_features.csv")
    assert os.path.join(flat_sample.manual_dir, _FEATURES) in outcome["message"]
    assert "are high_noise's" in outcome["message"]
    assert outcome["seconds"] < 30, outcome
