"""Builds on several worker processes: the same files for any worker count, the same refusals,
and parallel_build on its own (progress, spill files). Faults with real processes and signals
are in tests/end_to_end/test_parallel_build.py."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tarfile

import damaged_inputs
import numpy as np
import pytest
import tensorflow_datasets as tfds
import worker_builds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import annotations, build_checks, fake_data, ilsvrc, upstream
from imagenet_pi.generation import join, parallel_build

_CONFIG = "imagenet_pi/high_noise"


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
        sums[workers] = worker_builds.file_sums(builder.data_dir)
    assert sums[1] == sums[2] == sums[3]
    shards = [name for name in sums[1] if f".{file_format}-" in name]
    assert len(shards) == 6  # 3 a split, so that examples cross shards
    assert {"dataset_info.json", "metadata.json", "example_index-train.npz"} <= set(sums[1])


def test_every_written_file_is_recorded_with_its_size_and_sha256_and_each_shard_its_examples(
    built_high_noise,
):
    data_dir, _ = built_high_noise
    builder = tfds.builder(_CONFIG, data_dir=data_dir)
    recorded = build_checks.recorded_files(builder)
    lengths = {
        os.path.basename(os.fspath(path)): length
        for split in builder.info.splits.values()
        for path, length in zip(split.filepaths, split.shard_lengths)
    }
    shards = list(lengths)
    assert set(shards) < set(recorded)
    assert {"example_index-train.npz", "example_index-validation.npz"} < set(recorded)
    for name, entry in recorded.items():
        with open(os.path.join(builder.data_dir, name), "rb") as file:
            content = file.read()
        expected = {"num_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        if name in shards:
            expected["num_examples"] = lengths[name]
        assert entry == expected


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
            worker_builds.build(manual_dir, data_dir, workers=workers)
        messages[workers] = str(error.value)
        assert worker_builds.leftovers(data_dir) == []
    assert messages[1] == messages[2]


@pytest.mark.parametrize("workers", [1, 2])
def test_max_examples_per_split_takes_the_first_images_read_whatever_the_workers(
    small_sample, tmp_path, workers
):
    manual_dir, _ = small_sample
    builder = worker_builds.build(manual_dir, tmp_path, workers=workers, max_examples_per_split=5)
    dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    names = sorted(example["file_name"].decode() for example in tfds.as_numpy(dataset))
    # Parts are read in order (the first synset's tar, then the next), each in its own order.
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    read_order = [record.file_name for record in ilsvrc.iter_split(layout, "train")]
    assert names == sorted(read_order[:5])
    assert builder.info.splits["validation"].num_examples == 5


def test_max_examples_per_split_beyond_the_split_builds_it_whole(small_sample, tmp_path):
    manual_dir, sample = small_sample
    builder = worker_builds.build(manual_dir, tmp_path, workers=2, max_examples_per_split=1000)
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


class _SlowPart(_NamesPart):
    """A part that takes a while: parts after it are read (on other workers) meanwhile."""

    def read(self, fixer=None):
        import time

        time.sleep(1.0)
        yield from super().read(fixer)


class _DamagedPart(_NamesPart):
    def read(self, fixer=None):
        yield from super().read(fixer)
        raise ilsvrc.IlsvrcError(f"{self.describe()} is damaged")


def _job_damaged_after_the_first_part():
    """The first part (slow) holds enough for `max_examples_per_split=10`; the third is
    damaged and the fourth holds an image with no annotation row."""
    job = _tiny_job()
    unannotated = _NamesPart((*job.parts[3].names, "n99999999_1.JPEG"))
    parts = [_SlowPart(job.parts[0].names), job.parts[1], _DamagedPart(job.parts[2].names)]
    return parallel_build.SplitJob(**{**job.__dict__, "parts": [*parts, unannotated]})


def test_parts_past_max_examples_per_split_fail_no_build_whatever_the_workers(tmp_path):
    # One worker never reads the parts after the first; several may have read them
    # before the first is done: what they find there must not count either.
    shards = {}
    for workers in (1, 3):
        output = _tiny_output(tmp_path / str(workers))
        os.makedirs(output.spill_dir)
        written = parallel_build.write_splits(
            [_job_damaged_after_the_first_part()],
            output,
            num_workers=workers,
            max_examples_per_split=10,
        )
        assert written[0].shard_lengths == [3, 4, 3]
        shards[workers] = worker_builds.file_sums(output.spill_dir)
    assert list(shards[1]) == ["train-0-of-3", "train-1-of-3", "train-2-of-3"]
    assert shards[1] == shards[3]


def test_a_damaged_part_within_max_examples_per_split_fails_the_build_with_workers(tmp_path):
    job = _tiny_job()
    parts = [job.parts[0], _DamagedPart(job.parts[1].names), *job.parts[2:]]
    job = parallel_build.SplitJob(**{**job.__dict__, "parts": parts})
    with pytest.raises(ilsvrc.IlsvrcError, match="is damaged"):
        parallel_build.write_splits(
            [job], _tiny_output(tmp_path), num_workers=3, max_examples_per_split=30
        )
    assert os.listdir(tmp_path) == []
