"""Each TFDS and Beam internal `imagenet_pi` relies on still behaves as relied upon.

One test a reliance, named after it: a TFDS (or Beam) release that breaks one fails one
named test. The list, with what each protects, is in CONTRIBUTING.md ("Reliance on TFDS's
internals"). Builds here use a tiny builder of a few integer examples, not ImageNet-PI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap

import apache_beam as beam
import csv_pins
import ilsvrc_layouts
import numpy as np
import pytest
import tensorflow_datasets as tfds
from array_record.python import array_record_module
from tensorflow_datasets.core.download import downloader
from tensorflow_datasets.core.utils import file_utils

import imagenet_pi
from imagenet_pi import annotations, ilsvrc, internals, upstream
from imagenet_pi.generation import join, on_beam, parallel_build, record_files

_KEYS = [f"n{synset:08d}_{i}.JPEG" for synset in range(3) for i in range(40)]


class _TinyBuilder(internals.BuilderHooks, tfds.core.GeneratorBasedBuilder):
    """120 examples `{"row": int64}` keyed by ILSVRC-like file names, on the hooks under test.

    Records what TFDS does with the hooks in `events`.
    """

    name = "imagenet_pi_tiny_hooks_test"
    __module__ = "imagenet_pi.test_tiny_builder"  # TFDS finds a builder's files in its package
    VERSION = tfds.core.Version("1.0.0")

    def __init__(self, **kwargs):
        self.events: list[str] = []
        super().__init__(**kwargs)

    @contextlib.contextmanager
    def generating(self, *, on_beam: bool):
        self.events.append(f"generating on_beam={on_beam}")
        yield
        self.events.append(f"generated, splits {sorted(self.info.splits)}")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"row": np.int64})
        )

    def _split_generators(self, dl_manager):
        self.events.append("split_generators")
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        return beam.Create([(key, {"row": row}) for row, key in enumerate(_KEYS)])

    def write_splits(self, dl_manager, download_config):
        self.events.append("write_splits")
        self.written_in = internals.generation_dir(self)
        return _write_tiny_splits(self, download_config, num_workers=2)


class _PlainTinyBuilder(tfds.core.GeneratorBasedBuilder):
    """The same 120 examples, written by TFDS's own single-process writer (no hooks)."""

    name = "imagenet_pi_tiny_plain_test"
    __module__ = "imagenet_pi.test_tiny_builder"
    VERSION = tfds.core.Version("1.0.0")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"row": np.int64})
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield from ((key, {"row": row}) for row, key in enumerate(_KEYS))


@dataclasses.dataclass(frozen=True)
class _TinyPart:
    """Some of the 120 keys, as `parallel_build` reads a part of ILSVRC2012."""

    names: tuple[str, ...]

    def read(self, fixer=None):
        return (ilsvrc.ImageRecord(name, name[:9], b"") for name in self.names)

    def describe(self) -> str:
        return f"tiny part {self.names[0]}"


def _write_tiny_splits(builder, download_config, num_workers: int) -> list[tfds.core.SplitInfo]:
    """The 120 examples written by `parallel_build` with the TFDS conventions under test."""
    rows = annotations.SplitAnnotations(
        file_names=np.array(sorted(_KEYS)),
        labels=np.zeros((len(_KEYS), 16), np.int16),
        confidences=np.zeros((len(_KEYS), 16), np.float32),
    )
    job = parallel_build.SplitJob(
        name="train",
        parts=[_TinyPart(tuple(_KEYS[start : start + 40])) for start in range(0, 120, 40)],
        annotations=rows,
        write_order=internals.write_order("train", rows.names()),
        make_example=lambda record, _, row: (
            record.file_name,
            {"row": _KEYS.index(record.file_name)},
        ),
        images_source="tiny parts",
        annotations_source="tiny rows",
    )
    output = parallel_build.Output(
        file_format=builder.info.file_format.value,
        shard_paths=lambda split, count: internals.shard_paths(
            builder.filename_template(split), count
        ),
        shard_boundaries=functools.partial(
            internals.shard_boundaries, download_config.get_shard_config()
        ),
        serialize=internals.ExampleSerializer(builder.info.features),
        spill_dir=os.fspath(builder.data_dir),
        write_other_format=internals.write_with_file_adapter,
    )
    written = parallel_build.write_splits([job], output, num_workers=num_workers)
    return [
        internals.split_info(
            builder.filename_template(split.name), split.shard_lengths, split.num_bytes
        )
        for split in written
    ]


def _build_tiny(data_dir, *, file_format: str, on_beam: bool) -> _TinyBuilder:
    builder = _TinyBuilder(data_dir=str(data_dir), file_format=file_format)
    beam_options = (
        beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])
        if on_beam
        else None
    )
    # Several shards, so that the writer hook must be called for each.
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(num_shards=3, beam_options=beam_options)
    )
    return builder


def _shard_paths(builder: tfds.core.DatasetBuilder, split: str) -> list[str]:
    return [os.fspath(path) for path in builder.info.splits[split].filepaths]


# --- The registry -------------------------------------------------------------------------


def test_registry_replacement_makes_tfds_builder_return_ours(tmp_path):
    class Replacement(imagenet_pi.Builder, skip_registration=True):
        name = "imagenet_pi"
        # TFDS finds a builder's files in its module's package.
        __module__ = "imagenet_pi.test_replacement"

    try:
        internals.register_builder(Replacement)
        assert tfds.builder_cls("imagenet_pi") is Replacement
        assert isinstance(tfds.builder("imagenet_pi/low_noise", data_dir=tmp_path), Replacement)
    finally:
        internals.register_builder(imagenet_pi.Builder)
    assert tfds.builder_cls("imagenet_pi") is imagenet_pi.Builder


def test_tfds_keeps_its_own_builder_of_a_name_where_register_builder_looks():
    import importlib

    module = importlib.import_module(
        "tensorflow_datasets.datasets.imagenet_pi.imagenet_pi_dataset_builder"
    )
    assert module.Builder.name == "imagenet_pi"


# --- Data dirs and the folders of a build --------------------------------------------------


def test_tfds_data_dirs_are_the_given_one_or_every_registered_one(tmp_path):
    assert internals.data_dirs(str(tmp_path)) == [tmp_path]
    extra = tmp_path / "extra"
    tfds.core.add_data_dir(str(extra))
    try:
        found = internals.data_dirs(None)
    finally:
        file_utils._REGISTERED_DATA_DIRS.discard(extra)
    assert extra in found
    assert os.path.expanduser(tfds.core.constants.DATA_DIR) in map(os.fspath, found)


def test_tfds_builds_a_version_in_an_incomplete_folder_of_the_known_name(tmp_path):
    version_dir = tmp_path / "imagenet_pi" / "high_noise" / "2.0.0"
    with tfds.core.utils.incomplete_dir(version_dir) as building:
        name = os.path.basename(os.path.normpath(building))
        assert os.path.dirname(os.path.normpath(building)) == os.fspath(version_dir.parent)
        assert internals.incomplete_dir_pattern("2.0.0").match(name), name
        assert not internals.incomplete_dir_pattern("1.0.0").match(name)
        assert not internals.incomplete_dir_pattern("2.0").match(name)


def test_generation_dir_is_the_incomplete_folder_while_the_splits_are_written(tmp_path):
    builder = _build_tiny(tmp_path, file_format="tfrecord", on_beam=False)
    during = builder.written_in
    assert internals.incomplete_dir_pattern("1.0.0").match(during.name), during
    assert during.parent == builder.data_path.parent
    assert not during.exists()  # renamed to the version folder when the build succeeded
    assert internals.generation_dir(builder) == builder.data_path


# --- Downloads -----------------------------------------------------------------------------

_REFUSED_DOWNLOAD = textwrap.dedent(
    """
    import json, sys, time
    import tensorflow_datasets as tfds
    from imagenet_pi import internals
    url, download_dir = sys.argv[1], sys.argv[2]
    manager = tfds.download.DownloadManager(download_dir=download_dir)
    start = time.monotonic()
    try:
        with internals.few_download_retries():
            manager.download({"file": url})
        error = None
    except Exception as raised:
        error = type(raised).__name__
    print("OUTCOME " + json.dumps({"error": error, "seconds": time.monotonic() - start}))
    """
)


def test_tfds_downloader_reads_max_retries_for_every_request(tmp_path):
    # TFDS builds its urllib3 Retry from `downloader.MAX_RETRIES` each time it opens a
    # request: capped, a refused connection fails in well under a second instead of
    # ~210 s of backoff. The subprocess timeout is the hang guard.
    assert downloader.MAX_RETRIES > internals.FAIL_FAST_RETRIES  # else nothing to cut
    url = csv_pins.closed_port_url_root() + "/high_noise/labels/train.csv"
    result = subprocess.run(
        [sys.executable, "-c", _REFUSED_DOWNLOAD, url, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=csv_pins.no_network_env(dict(os.environ)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("OUTCOME "))
    outcome = json.loads(line[len("OUTCOME ") :])
    assert outcome["error"] == "ConnectionError", outcome  # requests' ConnectionError
    assert outcome["seconds"] < 30, outcome


def test_few_download_retries_caps_while_inside_and_restores_after_errors_and_nesting():
    before = downloader.MAX_RETRIES
    with pytest.raises(RuntimeError), internals.few_download_retries():
        assert downloader.MAX_RETRIES == internals.FAIL_FAST_RETRIES
        with internals.few_download_retries():  # another download, e.g. in another thread
            assert downloader.MAX_RETRIES == internals.FAIL_FAST_RETRIES
        assert downloader.MAX_RETRIES == internals.FAIL_FAST_RETRIES
        raise RuntimeError("download failed")
    assert before == downloader.MAX_RETRIES


# --- Builder hooks -------------------------------------------------------------------------


def test_tfds_calls_example_writer_hook_for_every_shard_on_beam(tmp_path):
    builder = _build_tiny(tmp_path, file_format="array_record", on_beam=True)
    paths = _shard_paths(builder, "train")
    assert len(paths) == 3
    rows = []
    for path in paths:
        reader = array_record_module.ArrayRecordReader(path)
        try:
            # Written by record_files, not by TFDS's adapter (which compresses with zstd).
            options = reader.writer_options_string().split(",")
            assert set(record_files.ARRAY_RECORD_OPTIONS.split(",")) <= set(options), path
            rows += [
                builder.info.features.deserialize_example_np(record)["row"]
                for record in reader.read_all()
            ]
        finally:
            reader.close()
    assert sorted(rows) == list(range(len(_KEYS)))


@pytest.mark.parametrize("on_beam", [False, True], ids=["single_process", "beam"])
def test_tfds_calls_download_and_prepare_hook_around_generation_with_the_beam_options(
    tmp_path, on_beam
):
    builder = _build_tiny(tmp_path, file_format="tfrecord", on_beam=on_beam)
    # Once a build, around `_split_generators` (TFDS's, on Beam) or `write_splits` (ours),
    # and the split infos are set when it returns.
    assert builder.events == [
        f"generating on_beam={on_beam}",
        "split_generators" if on_beam else "write_splits",
        "generated, splits ['train']",
    ]
    assert builder.info.splits["train"].num_examples == len(_KEYS)


# --- checksums.tsv -------------------------------------------------------------------------


def test_tfds_reads_url_pins_from_checksums_tsv_beside_the_builder_module():
    path = internals.checksums_path(imagenet_pi.Builder)
    assert os.fspath(path) == os.path.join(os.path.dirname(imagenet_pi.__file__), "checksums.tsv")
    assert path.read_text().startswith(upstream.LFS_URL_ROOT)
    pinned = imagenet_pi.Builder.url_infos  # what TFDS hands the download manager
    assert upstream.lfs_url("high_noise", "labels/train.csv") in pinned


def test_checksums_path_hook_moves_a_builders_url_pins(tmp_path):
    tsv = tmp_path / "pins.tsv"
    tsv.write_text(f"http://127.0.0.1/a.csv\t9\t{'ab' * 32}\ta.csv\n")
    moved = type(
        "MovedPins",
        (imagenet_pi.Builder,),
        {
            "__module__": "imagenet_pi.test_moved_pins",
            **internals.checksums_path_override(tsv),
        },
        skip_registration=True,
    )
    assert internals.checksums_path(moved) == tsv
    assert {url: (info.size, info.checksum) for url, info in moved.url_infos.items()} == {
        "http://127.0.0.1/a.csv": (9, "ab" * 32)
    }


# --- Order of the examples in a split ------------------------------------------------------


def _plain_tiny(data_dir, *, num_shards: int | None = None, **kwargs) -> _PlainTinyBuilder:
    builder = _PlainTinyBuilder(data_dir=str(data_dir), **kwargs)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(num_shards=num_shards)
    )
    return builder


def _records(paths: list[str]) -> list[bytes]:
    return [record for path in paths for record in record_files.read_tfrecord(path)]


def test_tfds_writes_a_split_in_the_order_of_its_key_hashes(tmp_path):
    builder = _plain_tiny(tmp_path)
    # One shard after the other, as random-access readers (tfds.data_source, grain) see them.
    dataset = builder.as_dataset(
        split="train", read_config=tfds.ReadConfig(interleave_cycle_length=1)
    )
    read = [int(example["row"]) for example in dataset.as_numpy_iterator()]
    np.testing.assert_array_equal(read, internals.write_order("train", _KEYS))
    assert read != sorted(read)  # the order is the hashes', not the keys'


@pytest.mark.parametrize("num_shards", [None, 3])
def test_tfds_cuts_a_split_into_shards_as_shard_boundaries_says(tmp_path, num_shards):
    builder = _plain_tiny(tmp_path, num_shards=num_shards)
    split = builder.info.splits["train"]
    shard_config = tfds.download.DownloadConfig(num_shards=num_shards).get_shard_config()
    ends = internals.shard_boundaries(shard_config, split.num_bytes, len(_KEYS))
    assert split.shard_lengths == np.diff([0, *ends]).tolist()


def test_shard_boundaries_match_tfds_shard_counts_of_large_splits():
    # What TFDS picks for ImageNet-sized splits (1024 and 64 shards) and beyond 1 TiB.
    config = tfds.download.DownloadConfig().get_shard_config()
    assert len(internals.shard_boundaries(config, 140 << 30, 1_281_167)) == 1024
    assert len(internals.shard_boundaries(config, 6 << 30, 50_000)) == 64
    assert len(internals.shard_boundaries(config, 1200 << 30, 3_000_000)) == 2048
    ends = internals.shard_boundaries(config, 140 << 30, 1_281_167)
    assert ends[-1] == 1_281_167 and ends == sorted(ends)


def test_tfds_names_shard_files_as_shard_paths_says(tmp_path):
    builder = _plain_tiny(tmp_path, num_shards=3)
    split = builder.info.splits["train"]
    assert [os.fspath(path) for path in split.filepaths] == internals.shard_paths(
        split.filename_template, 3
    )


def test_tfds_shard_file_names_of_every_split_and_format_are_told_from_other_files(tmp_path):
    names = []
    for file_format in ("tfrecord", "array_record"):
        builder = _plain_tiny(tmp_path / file_format, num_shards=3, file_format=file_format)
        names += [
            os.path.basename(os.fspath(path))
            for split in builder.info.splits.values()
            for path in split.filepaths
        ]
        others = [name for name in os.listdir(builder.data_dir) if name not in names]
        assert others and not any(
            internals.is_shard_file_name(builder.name, name) for name in others
        ), others  # dataset_info.json, features.json, ...
    assert len(names) == 6  # 3 shards of one split, in each format
    assert all(internals.is_shard_file_name(builder.name, name) for name in names)
    assert not internals.is_shard_file_name("another_dataset", names[0])
    assert not internals.is_shard_file_name(builder.name, names[0] + ".tmp")


def test_tfds_split_info_is_what_split_info_makes(tmp_path):
    builder = _plain_tiny(tmp_path, num_shards=3)
    split = builder.info.splits["train"]
    made = internals.split_info(split.filename_template, split.shard_lengths, split.num_bytes)
    assert made.to_proto() == split.to_proto()
    assert made.filepaths == split.filepaths


def test_example_serializer_gives_tfds_writers_records_in_deterministic_form(tmp_path):
    builder = _plain_tiny(tmp_path, num_shards=3)
    records = _records([os.fspath(path) for path in builder.info.splits["train"].filepaths])
    serialize = internals.ExampleSerializer(builder.info.features)
    ours = [serialize({"row": row}) for row in internals.write_order("train", _KEYS)]
    # TFDS's bytes parse to the same tf.train.Example, which serializes deterministically
    # to exactly ours.
    from tensorflow.core.example import example_pb2

    theirs = [
        example_pb2.Example.FromString(record).SerializeToString(deterministic=True)
        for record in records
    ]
    assert theirs == ours


@pytest.mark.parametrize("num_workers", [1, 2])
def test_parallel_build_writes_tfds_writers_examples_in_its_order_and_shards(tmp_path, num_workers):
    plain = _plain_tiny(tmp_path / "plain", num_shards=3)
    ours = _TinyBuilder(data_dir=str(tmp_path / "ours"), file_format="tfrecord")
    download_config = tfds.download.DownloadConfig(num_shards=3)
    ours.write_splits = lambda dl_manager, config: _write_tiny_splits(ours, config, num_workers)
    ours.download_and_prepare(download_config=download_config)
    theirs_split, ours_split = plain.info.splits["train"], ours.info.splits["train"]
    assert ours_split.shard_lengths == theirs_split.shard_lengths
    assert ours_split.num_bytes == theirs_split.num_bytes

    def rows(builder):
        return [
            int(builder.info.features.deserialize_example_np(record)["row"])
            for record in _records([os.fspath(p) for p in builder.info.splits["train"].filepaths])
        ]

    assert rows(ours) == rows(plain)


def test_progress_bar_is_silent_after_tfds_disable_progress_bar(capsys):
    tfds.disable_progress_bar()
    try:
        bar = internals.progress_bar(total=3, desc="Checking")
        bar.update(3)
        bar.close()
    finally:
        tfds.enable_progress_bar()
    assert "Checking" not in capsys.readouterr().err


# --- Beam ----------------------------------------------------------------------------------


_MULTIPROCESS_JOIN_FAILURE = """
import json
import apache_beam as beam
import numpy as np
from imagenet_pi import annotations
from imagenet_pi.generation import on_beam

split_annotations = annotations.SplitAnnotations(
    file_names=np.array(["a.JPEG", "b.JPEG"]),
    labels=np.zeros((2, 16), np.int16),
    confidences=np.zeros((2, 16), np.float32),
)
options = beam.options.pipeline_options.PipelineOptions(
    ["--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
)
try:
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create([[(0, ["a.JPEG"])]])
            | beam.Map(
                on_beam.check_join_on_worker, split_annotations, "train.tar", "a.csv"
            )
        )
except Exception as error:
    print(json.dumps({"type": type(error).__name__, "text": str(error)}))
"""


def _run_multiprocess_join_failure() -> subprocess.CompletedProcess | None:
    """The pipeline above in its own process group; None if Beam hangs stopping its workers."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MULTIPROCESS_JOIN_FAILURE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the runner and its SDK worker processes
        process.communicate()
        return None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.slow
def test_beam_multiprocess_runner_error_keeps_the_workers_message():
    # A worker in another process fails in the join check: the runner raises its own error
    # whose text holds the worker's message unchanged, which is how `join_error_in` finds it.
    split_annotations = annotations.SplitAnnotations(
        file_names=np.array(["a.JPEG", "b.JPEG"]),
        labels=np.zeros((2, 16), np.int16),
        confidences=np.zeros((2, 16), np.float32),
    )
    with pytest.raises(join.JoinError) as expected:
        on_beam.check_join([(0, ["a.JPEG"])], split_annotations, "train.tar", "a.csv")
    # Beam 2.77's DirectRunner now and then never returns from stopping its SDK workers after
    # a failed pipeline (seen once in CI): that is Beam's, so one hang gets a second run.
    result = _run_multiprocess_join_failure() or _run_multiprocess_join_failure()
    assert result is not None, "Beam's multi-process DirectRunner hung twice stopping its workers"
    assert result.returncode == 0, result.stderr[-3000:]
    raised = json.loads(result.stdout.strip().splitlines()[-1])
    assert raised["type"] != "JoinError"  # else no need to look in its text
    assert str(join.JoinError.from_text(raised["text"])) == str(expected.value)


# --- The size of a prepared split ------------------------------------------------------


def test_tfds_num_bytes_of_a_split_gives_the_size_of_its_tfrecord_files(tmp_path):
    builder = _build_tiny(tmp_path, file_format="tfrecord", on_beam=False)
    split = builder.info.splits["train"]
    found = sum(os.path.getsize(path) for path in _shard_paths(builder, "train"))
    assert internals.tfrecord_split_bytes(split) == found
    assert len(_shard_paths(builder, "train")) == 3  # the framing counts per record, not file


# --- grain ---------------------------------------------------------------------------------

_GRAIN_SHARED_MEMORY = """
import json
from multiprocessing import shared_memory
import grain.python as grain
import numpy as np
from absl import flags
from imagenet_pi import internals

flags.FLAGS.mark_as_parsed()
dataset = grain.MapDataset.source(list(range(8))).map(
    lambda i: {"pixels": np.full((64, 64), i, np.uint8)}
).batch(4).to_iter_dataset()
facts = {"owned_by_grain": [], "sums": [], "unlinked": []}
# Read to the end, so that grain holds no batch of its own when the process exits.
for batch in dataset.mp_prefetch(grain.MultiprocessingOptions(num_workers=1)):
    value = batch["pixels"]
    name = value.shm.name
    facts["owned_by_grain"].append(bool(value._unlink_on_del))
    facts["sums"].append(int(np.asarray(value).sum()))
    internals.free_grain_shared_memory(value)
    try:
        shared_memory.SharedMemory(name=name).close()
        facts["unlinked"].append(False)
    except FileNotFoundError:
        facts["unlinked"].append(True)
print(json.dumps(facts))
"""


def test_grain_worker_arrays_hold_a_shared_memory_block_we_can_free():
    result = subprocess.run(
        [sys.executable, "-c", _GRAIN_SHARED_MEMORY], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts == {
        "owned_by_grain": [True, True],
        "sums": [64 * 64 * (0 + 1 + 2 + 3), 64 * 64 * (4 + 5 + 6 + 7)],
        "unlinked": [True, True],
    }
    assert "leaked shared_memory" not in result.stderr


# --- argparse ------------------------------------------------------------------------------


def test_argparse_lists_a_parsers_arguments_and_subcommands():
    import argparse

    parser = argparse.ArgumentParser(prog="p")
    parser.add_argument("--top", type=int)
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run")
    run.add_argument("--fast", action="store_true")
    assert [action.option_strings for action in internals.parser_actions(parser)] == [
        ["--top"],
        [],  # the subcommands
    ]
    subparsers = internals.subcommand_parsers(parser)
    assert list(subparsers) == ["run"] and subparsers["run"] is run
    assert internals.subcommand_parsers(run) == {}
    assert [a.option_strings for a in internals.parser_actions(run)] == [["--fast"]]


# --- TFDS's encoding of a prepared imagenet2012 ---------------------------------------------


def test_tfds_stores_a_prepared_imagenet2012_example_as_imagenet2012_record_reads_it(layouts):
    # An imagenet2012 prepared by TFDS's own builder from a synthetic sample's tars.
    version_dir = ilsvrc.find_prepared_imagenet2012(layouts["prepared"])
    builder = tfds.builder_from_directory(version_dir)
    sample = ilsvrc_layouts.SAMPLE
    for split, num_images in (
        ("train", sample["num_synsets"] * sample["images_per_synset"]),
        ("validation", sample["num_validation"]),
    ):
        dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
        as_tfds_reads_it = {
            example["file_name"].decode(): (int(example["label"]), example["image"])
            for example in tfds.as_numpy(dataset)
        }
        parsed = {}
        for path in builder.info.splits[split].filepaths:
            for serialized in record_files.read_tfrecord(os.fspath(path)):
                name, label, image = internals.imagenet2012_record(serialized)
                parsed[name] = (label, image)
        assert len(parsed) == num_images
        assert parsed == as_tfds_reads_it


@pytest.mark.parametrize(
    "serialized",
    [b"\x13 not a protobuf", b"", b"\n\x00"],
    ids=["garbage", "empty", "no features"],
)
def test_imagenet2012_record_refuses_other_records_with_the_errors_it_lists(serialized):
    with pytest.raises(internals.IMAGENET2012_RECORD_ERRORS):
        internals.imagenet2012_record(serialized)


# --- Files TFDS ships for other datasets --------------------------------------------------


def test_tfds_ships_the_imagenet2012_label_tables_its_builder_reads(tmp_path):
    synsets = internals.imagenet2012_label_table("labels.txt").read_text().split()
    assert len(synsets) == 1000 and synsets == sorted(set(synsets))
    assert synsets[0] == "n01440764"
    builder = tfds.builder("imagenet2012", data_dir=str(tmp_path))
    assert list(builder.info.features["label"].names) == synsets
    truth = internals.imagenet2012_label_table("validation_labels.txt").read_text().split()
    assert len(truth) == 50_000 and set(truth) == set(synsets)
    assert truth[0] == "n01751748"  # ILSVRC2012_val_00000001.JPEG, a sea snake


def test_tfds_siscore_module_lists_the_imagenet_class_names_in_class_index_order():
    names = internals.imagenet_class_names()
    assert names is not None and len(names) == 1000
    assert names[0] == "tench, Tinca tinca"
    assert names[1] == "goldfish, Carassius auratus"
    assert names[999] == "toilet tissue, toilet paper, bathroom tissue"


def test_tfds_looks_for_an_unbuilt_datasets_info_in_its_bucket_through_the_info(
    tmp_path, monkeypatch
):
    # TFDS leaves a temporary folder per unbuilt builder; without_gcs_lookup avoids it.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    calls = []
    original = tfds.core.DatasetInfo.initialize_from_bucket

    def recorded(info):
        calls.append(info.full_name)
        return original(info)

    monkeypatch.setattr(tfds.core.DatasetInfo, "initialize_from_bucket", recorded)
    _PlainTinyBuilder(data_dir=str(tmp_path / "plain"))
    assert calls == ["imagenet_pi_tiny_plain_test/1.0.0"]  # TFDS asks, through the info
    assert [name for name in os.listdir(tmp_path / "tmp") if name.endswith("tfds")]
    leftovers = set(os.listdir(tmp_path / "tmp"))
    tfds.builder("imagenet_pi/high_noise", data_dir=str(tmp_path / "ours"))
    assert calls == ["imagenet_pi_tiny_plain_test/1.0.0"]  # ours does not
    assert set(os.listdir(tmp_path / "tmp")) == leftovers
