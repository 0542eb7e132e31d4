"""Builds on several worker processes: the same files for any worker count, the same refusals,
and faults (a killed worker, Ctrl-C) that stop every process and leave nothing finished."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import damaged_inputs
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import annotations, build_checks, fake_data, ilsvrc, upstream
from imagenet_pi.generation import join, parallel_build, worker_count, worker_pool

_CONFIG = "imagenet_pi/high_noise"
_TIMEOUT = 300


def _build(manual_dir, data_dir, workers: int | None, **download_kwargs):
    builder = tfds.builder(_CONFIG, data_dir=str(data_dir), build_workers=workers)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, **download_kwargs)
    )
    return builder


def _file_sums(version_dir) -> dict[str, str]:
    """sha256 of every file of a built version folder."""
    return {
        name: hashlib.sha256(open(os.path.join(version_dir, name), "rb").read()).hexdigest()
        for name in sorted(os.listdir(version_dir))
    }


def _config_dir(data_dir) -> str:
    return os.path.join(str(data_dir), "imagenet_pi", "high_noise")


def _leftovers(data_dir) -> list[str]:
    """What a failed build must not leave: a version folder, or an incomplete.* folder."""
    if not os.path.isdir(_config_dir(data_dir)):
        return []
    return [name for name in os.listdir(_config_dir(data_dir)) if not name.endswith(".lock")]


# --- The same dataset for any worker count --------------------------------------------------


@pytest.mark.parametrize("file_format", ["tfrecord", "array_record"])
def test_one_two_and_three_workers_write_the_same_files(small_sample, tmp_path, file_format):
    manual_dir, _ = small_sample
    sums = {}
    for workers in (1, 2, 3):
        builder = tfds.builder(
            _CONFIG,
            data_dir=str(tmp_path / str(workers)),
            file_format=file_format,
            build_workers=workers,
        )
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, num_shards=3)
        )
        sums[workers] = _file_sums(builder.data_dir)
    assert sums[1] == sums[2] == sums[3]
    shards = [name for name in sums[1] if f".{file_format}-" in name]
    assert len(shards) == 6  # 3 a split, so that examples cross shards
    assert {"dataset_info.json", "metadata.json", "example_index-train.npz"} <= set(sums[1])


@pytest.mark.slow
def test_two_builds_in_separate_processes_write_the_same_files(small_sample, tmp_path):
    manual_dir, _ = small_sample
    script = (
        "import sys, tensorflow_datasets as tfds, imagenet_pi\n"
        f"b = tfds.builder({_CONFIG!r}, data_dir=sys.argv[1])\n"
        "b.download_and_prepare(download_config=tfds.download.DownloadConfig("
        "manual_dir=sys.argv[2]))\n"
    )
    for name in ("a", "b"):
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / name), manual_dir],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    version = os.path.join("imagenet_pi", "high_noise", "3.0.0")
    assert _file_sums(tmp_path / "a" / version) == _file_sums(tmp_path / "b" / version)


def test_every_written_file_is_recorded_with_its_size_and_sha256(built_high_noise):
    data_dir, _ = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    recorded = build_checks.recorded_files(builder)
    shards = [
        os.path.basename(os.fspath(path))
        for split in builder.info.splits.values()
        for path in split.filepaths
    ]
    assert set(shards) < set(recorded)
    assert {"example_index-train.npz", "example_index-validation.npz"} < set(recorded)
    for name, entry in recorded.items():
        with open(os.path.join(builder.data_dir, name), "rb") as file:
            content = file.read()
        assert entry == {"num_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def test_shards_hold_every_example_in_tfds_write_order(built_high_noise):
    data_dir, sample = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    for split, names in (
        ("train", sample.train_file_names),
        ("validation", sample.validation_file_names),
    ):
        dataset = builder.as_dataset(
            split=split,
            read_config=tfds.ReadConfig(interleave_cycle_length=1),
            decoders={"image": tfds.decode.SkipDecoding()},
        )
        read = [example["file_name"].decode() for example in tfds.as_numpy(dataset)]
        keys = sorted(names)
        from imagenet_pi import internals

        expected = [keys[row] for row in internals.write_order(split, keys)]
        assert read == expected


# --- Choosing the worker count --------------------------------------------------------------


def test_default_worker_count_is_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.delenv(worker_count.ENV, raising=False)
    assert worker_count.resolve() == len(os.sched_getaffinity(0))


def test_worker_count_follows_the_affinity_mask_not_the_machine():
    script = (
        "import os\n"
        "os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "os.environ.pop('IMAGENET_PI_BUILD_WORKERS', None)\n"
        "from imagenet_pi.generation import worker_count\n"
        "print(worker_count.resolve(), os.cpu_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    workers, cpus = result.stdout.split()
    assert workers == "1" and int(cpus) >= 1


def test_environment_variable_sets_the_worker_count(monkeypatch):
    monkeypatch.setenv(worker_count.ENV, " 3 ")
    assert worker_count.resolve() == 3
    assert worker_count.resolve(requested=5) == 5  # the builder's argument wins


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "2 workers"])
def test_bad_environment_variable_is_refused_before_anything_is_read(tmp_path, monkeypatch, value):
    monkeypatch.setenv(worker_count.ENV, value)
    # The manual_dir does not exist: the variable is what is refused, first.
    with pytest.raises(ValueError) as error:
        _build(str(tmp_path / "no_manual_dir"), tmp_path / "data", workers=None)
    message = str(error.value)
    assert message.startswith(f"{worker_count.ENV}={value!r} is not a positive")
    assert _leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_bad_build_workers_argument_is_refused_when_the_builder_is_made(tmp_path, value):
    with pytest.raises(ValueError, match="build_workers: expected a positive integer"):
        tfds.builder(_CONFIG, data_dir=str(tmp_path), build_workers=value)


def test_build_workers_reaches_the_builder_through_tfds_load(small_sample, tmp_path):
    manual_dir, sample = small_sample
    dataset = tfds.load(
        _CONFIG,
        split="validation",
        data_dir=str(tmp_path),
        builder_kwargs={"build_workers": 2},
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
        },
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    assert len(list(dataset)) == len(sample.validation_file_names)


@pytest.mark.slow
def test_default_build_runs_on_every_cpu_available(small_sample, tmp_path):
    # Which processes read the parts: the build's own, or others (its workers).
    manual_dir, _ = small_sample
    script = """
import os, sys
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi.generation import parallel_build

os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
read_part = parallel_build._Build._read_part

def recorded(self, task, *args):
    with open(sys.argv[3], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return read_part(self, task, *args)

parallel_build._Build._read_part = recorded
builder = tfds.builder("imagenet_pi/high_noise", data_dir=sys.argv[2])
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[1]))
print(os.getpid())
"""
    log = tmp_path / "readers.log"
    env = {k: v for k, v in os.environ.items() if k != worker_count.ENV}
    result = subprocess.run(
        [sys.executable, "-c", script, manual_dir, str(tmp_path / "data"), str(log)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    readers = set(log.read_text().split())
    expected = min(2, len(os.sched_getaffinity(0)))
    assert len(readers) == expected
    if expected > 1:
        assert result.stdout.split()[-1] not in readers  # parts read by worker processes


@pytest.mark.slow
def test_beam_builds_ignore_the_environment_variable(small_sample, tmp_path, monkeypatch):
    import apache_beam as beam

    manual_dir, sample = small_sample
    monkeypatch.setenv(worker_count.ENV, "not a number")
    options = beam.options.pipeline_options.PipelineOptions(
        ["--runner=DirectRunner", "--direct_running_mode=in_memory"]
    )
    builder = _build(manual_dir, tmp_path, workers=None, beam_options=options)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


# --- Every guarantee of the single-process build holds with workers --------------------------


def _misfile_an_image(manual_dir: str) -> None:
    def move_first_image(inner):
        first, second = list(inner)[:2]
        moved = inner[second].pop(0)[0].name
        inner[first].append((tarfile.TarInfo(moved), b"\xff\xd8 never read"))

    damaged_inputs.edit_train_tar(manual_dir, move_first_image)


def _link_an_image(manual_dir: str) -> None:
    def replace_by_link(inner):
        images = inner[list(inner)[2]]
        info = tarfile.TarInfo(images[1][0].name)
        info.type, info.linkname = tarfile.SYMTYPE, images[0][0].name
        images[1] = (info, b"")

    damaged_inputs.edit_train_tar(manual_dir, replace_by_link)


def _rename_an_image_non_utf8(manual_dir: str) -> None:
    def rename(inner):
        info, _ = inner[list(inner)[1]][0]
        info.name = info.name.replace(".JPEG", "\udce9.JPEG")

    damaged_inputs.edit_train_tar(manual_dir, rename)


def _cut_a_jpeg_short(manual_dir: str) -> None:
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with open(train_tar, "rb") as f:
        first = fake_data.tar_members(fake_data.tar_members(f.read())[0][1])[0][1]
    damaged_inputs.replace_train_image(manual_dir, first[: len(first) // 2])


def _copy_an_image(manual_dir: str) -> None:
    def duplicate(inner):
        synsets = list(inner)
        inner[synsets[3]].append(inner[synsets[3]][0])

    damaged_inputs.edit_train_tar(manual_dir, duplicate)


def _drop_an_image(manual_dir: str) -> None:
    def drop(inner):
        inner[list(inner)[1]].pop()

    damaged_inputs.edit_train_tar(manual_dir, drop)


_DAMAGE = {
    "misfiled": (_misfile_an_image, ilsvrc.IlsvrcError),
    "linked": (_link_an_image, ilsvrc.IlsvrcError),
    "non-utf8 name": (_rename_an_image_non_utf8, ilsvrc.IlsvrcError),
    "jpeg cut short": (_cut_a_jpeg_short, ilsvrc.IlsvrcError),
    "image twice": (_copy_an_image, join.JoinError),
    "row without image": (_drop_an_image, join.JoinError),
}


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_refusals_are_the_same_with_one_and_two_workers(fresh_sample, tmp_path, damage):
    manual_dir, _ = fresh_sample
    apply, error_type = _DAMAGE[damage]
    apply(manual_dir)
    messages = {}
    for workers in (1, 2):
        data_dir = tmp_path / f"data{workers}"
        with pytest.raises(error_type) as error:
            _build(manual_dir, data_dir, workers=workers)
        messages[workers] = str(error.value)
        assert _leftovers(data_dir) == []
    assert messages[1] == messages[2]


@pytest.mark.parametrize("workers", [1, 2])
def test_max_examples_per_split_takes_the_first_images_read_whatever_the_workers(
    small_sample, tmp_path, workers
):
    manual_dir, _ = small_sample
    builder = _build(manual_dir, tmp_path, workers=workers, max_examples_per_split=5)
    dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    names = sorted(example["file_name"].decode() for example in tfds.as_numpy(dataset))
    # Parts are read in order (the first synset's tar, then the next), each in its own order.
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    read_order = [record.file_name for record in ilsvrc.iter_split(layout, "train")]
    assert names == sorted(read_order[:5])
    assert builder.info.splits["validation"].num_examples == 5


def test_max_examples_per_split_beyond_the_split_builds_it_whole(small_sample, tmp_path):
    manual_dir, sample = small_sample
    builder = _build(manual_dir, tmp_path, workers=2, max_examples_per_split=1000)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


# --- parallel_build on its own ---------------------------------------------------------------


class _Bars:
    """A tqdm-like factory that records what each bar counted."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.totals: dict[str, int] = {}

    def __call__(self, *, desc, total, **kwargs):
        self.totals[desc] = total
        self.counts.setdefault(desc, 0)
        bars = self

        class _Bar:
            def update(self, count):
                bars.counts[desc] += count

            def close(self):
                pass

        return _Bar()


def _tiny_job(num_parts: int = 4, per_part: int = 25):
    names = [f"n{part:08d}_{i}.JPEG" for part in range(num_parts) for i in range(per_part)]
    rows = annotations.SplitAnnotations(
        file_names=np.array(sorted(names)),
        labels=np.zeros((len(names), 16), np.int16),
        confidences=np.zeros((len(names), 16), np.float32),
    )
    parts = [_NamesPart(tuple(names[i : i + per_part])) for i in range(0, len(names), per_part)]
    return parallel_build.SplitJob(
        name="train",
        parts=parts,
        annotations=rows,
        write_order=np.arange(len(names)),
        make_example=lambda record, _, row: (record.file_name, {"row": row}),
        images_source="parts",
        annotations_source="rows",
    )


class _NamesPart:
    def __init__(self, names):
        self.names = names

    def read(self, fixer=None):
        return (ilsvrc.ImageRecord(name, name[:9], b"") for name in self.names)

    def describe(self):
        return f"part {self.names[0]}"


def _tiny_output(tmp_path, num_shards: int = 3) -> parallel_build.Output:
    return parallel_build.Output(
        file_format="tfrecord",
        shard_paths=lambda split, count: [
            str(tmp_path / f"{split}-{i}-of-{count}") for i in range(count)
        ],
        shard_boundaries=lambda num_bytes, count: [
            round(count * (i + 1) / num_shards) for i in range(num_shards)
        ],
        serialize=lambda example: json.dumps(example).encode(),
        spill_dir=str(tmp_path),
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_one_progress_bar_a_stage_counts_the_examples_of_every_worker(tmp_path, workers):
    bars = _Bars()
    parallel_build.write_splits(
        [_tiny_job()], _tiny_output(tmp_path), num_workers=workers, progress_bar=bars
    )
    assert bars.counts == {"Generating train examples...": 100, "Writing train examples...": 100}
    assert bars.totals == bars.counts


def test_temporary_files_live_in_the_spill_dir_and_are_gone_after_the_build(tmp_path):
    seen = []
    job = _tiny_job()
    output = _tiny_output(tmp_path)

    def spying_boundaries(num_bytes, count):
        seen.extend(glob.glob(str(tmp_path / "spill-train" / "*")))
        return [round(count * (i + 1) / 3) for i in range(3)]

    output = parallel_build.Output(**{**output.__dict__, "shard_boundaries": spying_boundaries})
    parallel_build.write_splits([job], output, num_workers=2)
    assert seen, "nothing was spilled"
    assert sorted(os.listdir(tmp_path)) == ["train-0-of-3", "train-1-of-3", "train-2-of-3"]


def test_temporary_files_are_removed_when_a_part_fails(tmp_path):
    job = _tiny_job()

    class _Failing(_NamesPart):
        def read(self, fixer=None):
            yield from super().read(fixer)
            raise ilsvrc.IlsvrcError("part damaged")

    job = parallel_build.SplitJob(
        **{**job.__dict__, "parts": [*job.parts[:3], _Failing(job.parts[3].names)]}
    )
    with pytest.raises(ilsvrc.IlsvrcError, match="part damaged"):
        parallel_build.write_splits([job], _tiny_output(tmp_path), num_workers=2)
    assert os.listdir(tmp_path) == []


# --- Faults, with real processes and signals -------------------------------------------------

_STUCK_BUILD = """
import os, signal, sys, time
import tensorflow_datasets as tfds
import imagenet_pi
from imagenet_pi.generation import parallel_build

manual_dir, data_dir, pid_file, mode = sys.argv[1:]
read_part = parallel_build._Build._read_part

def stuck(self, task, *args):
    if task.split == "train" and task.index == 1:
        if mode == "raise":
            raise RuntimeError("the disk is on fire")
        with open(pid_file + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(pid_file + ".tmp", pid_file)
        time.sleep(600)
    return read_part(self, task, *args)

parallel_build._Build._read_part = stuck
builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir, build_workers=2)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
"""


def _start_stuck_build(manual_dir: str, tmp_path, mode: str = "stick") -> subprocess.Popen:
    args = [manual_dir, str(tmp_path / "data"), str(tmp_path / "pid"), mode]
    return subprocess.Popen(
        [sys.executable, "-c", _STUCK_BUILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job is
    )  # fmt: skip


def _wait_for_file(path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + _TIMEOUT
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.05)
    return open(path).read()


def _processes_in_group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _second_train_part(sample: fake_data.FakeIlsvrc) -> str:
    synsets = sorted({name.split("_")[0] for name in sample.train_file_names})
    return f"member '{synsets[1]}.tar'"


@pytest.mark.slow
def test_killed_worker_fails_the_build_within_seconds_naming_its_part(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        worker = int(_wait_for_file(tmp_path / "pid", build))
        os.kill(worker, signal.SIGKILL)
        killed_at = time.monotonic()
        _, stderr = build.communicate(timeout=_TIMEOUT)
        took = time.monotonic() - killed_at
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
    assert build.returncode != 0
    assert took < 20, f"the build took {took:.0f} s to fail"
    assert "WorkerError: The worker process" in stderr
    assert f"died while working on {os.path.join(manual_dir, upstream.TRAIN_TAR)}" in stderr
    assert _second_train_part(sample) in stderr
    assert "killed by signal SIGKILL" in stderr
    assert _leftovers(tmp_path / "data") == []
    assert _processes_in_group(build.pid) == []


@pytest.mark.slow
def test_error_on_a_worker_fails_the_build_naming_its_part(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path, mode="raise")
    _, stderr = build.communicate(timeout=_TIMEOUT)
    assert build.returncode != 0
    assert "RuntimeError: the disk is on fire" in stderr
    assert "raised in worker process" in stderr and _second_train_part(sample) in stderr
    assert _leftovers(tmp_path / "data") == []
    assert _processes_in_group(build.pid) == []


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_the_next_build_starts_cleanly(small_sample, tmp_path):
    manual_dir, sample = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        _wait_for_file(tmp_path / "pid", build)
        os.killpg(build.pid, signal.SIGINT)  # what a terminal sends its foreground job
        interrupted_at = time.monotonic()
        _, stderr = build.communicate(timeout=_TIMEOUT)
        took = time.monotonic() - interrupted_at
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
    assert build.returncode != 0 and "KeyboardInterrupt" in stderr
    assert took < 20, f"the build took {took:.0f} s to stop"
    assert _processes_in_group(build.pid) == []
    assert _leftovers(tmp_path / "data") == []
    builder = _build(manual_dir, tmp_path / "data", workers=2)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)


@pytest.mark.slow
def test_killed_build_takes_its_workers_with_it(small_sample, tmp_path):
    manual_dir, _ = small_sample
    build = _start_stuck_build(manual_dir, tmp_path)
    try:
        worker = int(_wait_for_file(tmp_path / "pid", build))
        build.kill()  # SIGKILL to the build alone: no finally, no atexit
        build.wait(timeout=_TIMEOUT)
        deadline = time.monotonic() + 20
        while _processes_in_group(build.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(build.pid, signal.SIGKILL) if _processes_in_group(build.pid) else None
    assert _processes_in_group(build.pid) == [], f"worker {worker} outlived its build"


class _Task:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"task {self.name}"


def test_worker_pool_names_the_task_of_a_worker_that_died(tmp_path):
    def run(task, progress):
        if task.name == "b":
            os.kill(os.getpid(), signal.SIGKILL)
        return task.name

    with (
        pytest.raises(worker_pool.WorkerError) as error,
        worker_pool.WorkerPool(run, num_workers=2, death_hint="Try again.") as pool,
    ):
        for name in "abc":
            pool.submit(_Task(name))
        list(pool.results())
    message = str(error.value)
    assert "died while working on task b: killed by signal SIGKILL" in message
    assert message.endswith("Try again.")
