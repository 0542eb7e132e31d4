"""The build of a config on every core, with the same bytes for any number of workers.

This replaces TFDS's single-process writer for builds without Beam. The work runs on a
`worker_pool` (forked processes; in this process with one worker) in two stages:

1. Read. A task reads one part of a split (a per-synset tar, a run of validation
   images, ...), claims each image's annotation row, serializes its example
   deterministically and appends it to the spill file of its position's bucket. Every
   example's position in the split is known before any image is read: TFDS writes a
   split in the order of a hash of the keys, and the keys are the CSVs' file names.
   The buckets (`spill`) are cut so that a shard reads whole buckets.
2. Write. Once every part of a split is read and the join is complete, the split's
   size gives its shard count as TFDS's writer picks it; a task writes one shard from
   the buckets it spans (one bucket in memory at a time) and returns its size and
   sha256. A bucket's spill files are removed once the shards spanning it are written.

The parent hands out tasks, merges the claims (the strict join) and counts progress.
No stage whose cost grows with the split's bytes runs on one core; what the parent
does grows with the number of examples only (hashing the keys, merging claims).

The spill lives in the folder being built (TFDS's `incomplete.*` folder), in
`spill-<split>/`, and is removed whatever happens; a killed build leaves it in the
`incomplete.*` folder, which the next build removes (`build_lock`).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from imagenet_pi import annotations, ilsvrc
from imagenet_pi.generation import join, record_files, spill, worker_count, worker_pool
from imagenet_pi.ilsvrc import image_fixes

logger = logging.getLogger(__name__)


MakeExample = Callable[[ilsvrc.ImageRecord, annotations.SplitAnnotations, int], tuple[str, dict]]


# --- What a build writes ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SplitJob:
    """Everything needed to write one split.

    Attributes:
      name: the split, e.g. "train".
      parts: the parts of ILSVRC2012 that hold its images, each readable on its own.
      annotations: its annotation rows (sorted file names).
      write_order: `(num_rows,) int64`, the row TFDS writes i-th (by hashed key).
      make_example: `(record, annotations, row) -> (key, example)`.
      images_source, annotations_source: what join errors name (archive or folder,
        labels CSV).
    """

    name: str
    parts: Sequence[ilsvrc.Part]
    annotations: annotations.SplitAnnotations
    write_order: np.ndarray
    make_example: MakeExample
    images_source: str
    annotations_source: str


@dataclasses.dataclass(frozen=True)
class Output:
    """Where and how shards are written.

    Attributes:
      file_format: "tfrecord", "array_record", or another TFDS file format.
      shard_paths: `(split, num_shards) -> paths` of the shard files.
      shard_boundaries: `(num_bytes, num_examples) -> ends of the shards`, as TFDS cuts.
      serialize: a raw example -> its serialized bytes, deterministic.
      spill_dir: a folder for temporary files (removed when done).
      write_other_format: `(path, file_format, records)` for formats other than
        TFRecord and array_record.
    """

    file_format: str
    shard_paths: Callable[[str, int], list[str]]
    shard_boundaries: Callable[[int, int], list[int]]
    serialize: Callable[[dict[str, Any]], bytes]
    spill_dir: str
    write_other_format: Callable[[str, str, Iterator[bytes]], None] | None = None


@dataclasses.dataclass(frozen=True)
class WrittenShard:
    """A shard file as written: its name (in the dataset folder), examples, size, sha256."""

    file_name: str
    num_examples: int
    num_bytes: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class WrittenSplit:
    """A split as written.

    Attributes:
      name: the split.
      shards: its shard files, in order.
      num_bytes: its serialized examples' size, summed (TFDS's `SplitInfo.num_bytes`).
    """

    name: str
    shards: list[WrittenShard]
    num_bytes: int

    @property
    def shard_lengths(self) -> list[int]:
        return [shard.num_examples for shard in self.shards]


def write_splits(
    jobs: Sequence[SplitJob],
    output: Output,
    num_workers: int,
    max_examples_per_split: int | None = None,
    progress_bar: Callable[..., Any] | None = None,
) -> list[WrittenSplit]:
    """Writes the splits of `jobs` (in that order of priority) on `num_workers` processes.

    Args:
      jobs: the splits.
      output: where and how.
      num_workers: worker processes (1: this process only).
      max_examples_per_split: write only the first N images of each split (in reading
        order), for quick debug builds; None for all.
      progress_bar: a tqdm-like factory for the progress bars (None: no bars).

    Returns:
      The splits written, in the order of `jobs`.

    Raises:
      join.JoinError, ilsvrc.IlsvrcError, ...: as the single-process reading raises them.
      worker_pool.WorkerError: a worker died (the message names the part or shard).
    """
    build = _Build(jobs, output, max_examples_per_split, progress_bar)
    num_tasks = sum(len(job.parts) for job in jobs)
    try:
        with worker_pool.WorkerPool(
            build.run_task,
            num_workers=max(1, min(num_workers, num_tasks)),
            on_progress=build.on_progress,
            death_hint=(
                "Nothing was written as finished. If the out-of-memory killer stopped it, "
                f"build with fewer workers ({worker_count.ENV}=N)."
            ),
            # `finished` raises a task's error, unless the part is past a split's cap.
            errors_as_results=True,
        ) as pool:
            for state in build.splits.values():
                for index, part in enumerate(state.job.parts):
                    pool.submit(_ReadPart(state.job.name, index, _describe(part)))
            for done in pool.results():
                build.finished(done.task, done.result, pool)
        return build.written()
    finally:
        build.close()


# --- Tasks -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ReadPart:
    split: str
    index: int
    description: str

    def describe(self) -> str:
        return self.description


@dataclasses.dataclass(frozen=True)
class _PartRead:
    claims: join.Claims
    sizes: np.ndarray  # (claimed,) int64, serialized size of each claimed row's example
    fixes: dict[str, int]
    spill_files: dict[int, str]  # bucket -> spill file created while reading this part


@dataclasses.dataclass(frozen=True)
class _WriteShard:
    split: str
    index: int
    path: str
    positions: np.ndarray  # sorted positions (in the whole split's order) to write
    spill_files: dict[int, tuple[str, ...]]  # bucket -> its spill files, for the buckets read

    def describe(self) -> str:
        return f"the shard {self.path}"


def _describe(part: ilsvrc.Part) -> str:
    describe = getattr(part, "describe", None)
    return describe() if describe else repr(part)


# --- The build -------------------------------------------------------------------------


class _SplitState:
    """A split being written: its job, positions, buckets, and (in the parent) progress."""

    def __init__(self, job: SplitJob, spill_dir: str) -> None:
        self.job = job
        num_rows = len(job.annotations)
        self.position_of_row = np.empty(num_rows, np.int64)
        self.position_of_row[job.write_order] = np.arange(num_rows)
        self.buckets = spill.Buckets(num_rows)
        self.spill_dir = spill_dir
        # The parent's bookkeeping.
        self.reads: dict[int, _PartRead | worker_pool.TaskFailed] = {}
        self.expected_reads = len(job.parts)
        # The leading parts the split is made of, once known (max_examples_per_split).
        self.needed: int | None = None
        self.shards: dict[int, WrittenShard] = {}
        self.num_shards: int | None = None
        self.num_bytes = 0
        self.bucket_users: collections.Counter[int] = collections.Counter()
        self.bucket_files: dict[int, list[str]] = collections.defaultdict(list)
        self.bars: dict[str, Any] = {}


class _Build:
    def __init__(
        self,
        jobs: Sequence[SplitJob],
        output: Output,
        max_examples_per_split: int | None,
        progress_bar: Callable[..., Any] | None,
    ) -> None:
        self.output = output
        self.max_examples = max_examples_per_split
        self.progress_bar = progress_bar
        self.splits = {
            job.name: _SplitState(job, os.path.join(output.spill_dir, f"spill-{job.name}"))
            for job in jobs
        }
        for state in self.splits.values():
            shutil.rmtree(state.spill_dir, ignore_errors=True)
            os.makedirs(state.spill_dir)
        self._spill: spill.SpillWriter | None = None  # a worker's, for the split it reads now

    # Run on the workers (or in this process) --------------------------------------------

    def run_task(self, task: _ReadPart | _WriteShard, progress: Callable[[int], None]) -> Any:
        reading = task.split if isinstance(task, _ReadPart) else None
        if self._spill is not None and self._spill.split != reading:
            # Done with that split's reading: its files may be removed once written.
            self._spill.close()
            self._spill = None
        if isinstance(task, _ReadPart):
            if self._spill is None:
                state = self.splits[task.split]
                self._spill = spill.SpillWriter(task.split, state.buckets, state.spill_dir)
            return self._read_part(task, self._spill, progress)
        return self._write_shard(task, progress)

    def _read_part(
        self, task: _ReadPart, spill_writer: spill.SpillWriter, progress: Callable[[int], None]
    ) -> _PartRead:
        state = self.splits[task.split]
        job = state.job
        fixer = image_fixes.ImageFixer()
        part_join = join.Join(job.annotations, job.images_source, job.annotations_source)
        sizes = []
        for record in job.parts[task.index].read(fixer):
            row = part_join.claim(record.file_name)
            if row is None:
                continue
            _, example = job.make_example(record, job.annotations, row)
            serialized = self.output.serialize(example)
            spill_writer.append(int(state.position_of_row[row]), serialized)
            sizes.append(len(serialized))
            progress(1)
        return _PartRead(
            claims=part_join.claims(),
            sizes=np.array(sizes, np.int64),
            fixes=dict(fixer.counts),
            spill_files=spill_writer.new_files(),
        )

    def _write_shard(self, task: _WriteShard, progress: Callable[[int], None]) -> WrittenShard:
        state = self.splits[task.split]
        where = f"split {task.split!r} spilled to {state.spill_dir}"
        records = spill.spilled_records(
            state.buckets, task.positions, task.spill_files, progress, where
        )
        file_format = self.output.file_format
        if file_format == record_files.TFRECORD:
            written = record_files.write_tfrecord(task.path, records)
        else:
            if file_format == record_files.ARRAY_RECORD:
                record_files.write_array_record(task.path, records)
            else:
                self.output.write_other_format(task.path, file_format, records)
            written = record_files.sha256_of(task.path)
        return WrittenShard(
            os.path.basename(task.path), len(task.positions), written.num_bytes, written.sha256
        )

    # Run in the parent -------------------------------------------------------------------

    def on_progress(self, task: _ReadPart | _WriteShard, count: int) -> None:
        state = self.splits[task.split]
        stage = "read" if isinstance(task, _ReadPart) else "write"
        bar = state.bars.get(stage)
        if bar is None and self.progress_bar is not None:
            total = len(state.job.annotations)
            if self.max_examples is not None:
                total = min(total, self.max_examples)
            verb = "Generating" if stage == "read" else "Writing"
            bar = state.bars[stage] = self.progress_bar(
                desc=f"{verb} {task.split} examples...",
                total=total,
                unit=" examples",
                leave=False,
                mininterval=1.0,
            )
        if bar is not None:
            bar.update(count)

    def finished(self, task: _ReadPart | _WriteShard, result: Any, pool: Any) -> None:
        state = self.splits[task.split]
        failed = isinstance(result, worker_pool.TaskFailed)
        if failed and (isinstance(task, _WriteShard) or self.max_examples is None):
            raise result.error
        if isinstance(task, _WriteShard):
            self._shard_written(state, task, result)
            return
        # A part of a capped split that failed counts only if the split needs it.
        state.reads[task.index] = result
        if self.max_examples is not None and state.needed is None:
            state.needed = self._needed_parts(state)
            if state.needed is not None:
                not_started = pool.discard(
                    lambda pending: isinstance(pending, _ReadPart) and pending.split == task.split
                )
                state.expected_reads -= len(not_started)
        if len(state.reads) == state.expected_reads:
            self._all_read(state, pool)

    def _needed_parts(self, state: _SplitState) -> int | None:
        """How many leading parts hold the first `max_examples` examples (all parts if they
        hold fewer), or None while parts among them are being read.

        The split is made of those parts alone, as one process makes it, reading the parts
        in order and stopping there: what later parts hold (read meanwhile by other
        workers), and their errors, count for nothing, whatever the number of workers.

        Raises:
          The error of a part among them that failed.
        """
        count = 0
        for index in range(len(state.job.parts)):
            read = state.reads.get(index)
            if read is None:
                return None
            if isinstance(read, worker_pool.TaskFailed):
                raise read.error
            count += len(read.claims.rows)
            if count >= self.max_examples:
                return index + 1
        return len(state.job.parts)

    def _all_read(self, state: _SplitState, pool: Any) -> None:
        """Checks the join, then queues the writing of every shard of the split."""
        job = state.job
        self._close_bar(state, "read")
        split_join = join.Join(job.annotations, job.images_source, job.annotations_source)
        fixer = image_fixes.ImageFixer()
        rows, sizes = [], []
        needed = len(job.parts) if state.needed is None else state.needed
        for index in sorted(state.reads):
            read = state.reads[index]
            if index >= needed:  # read by another worker meanwhile, past the split's cap
                continue
            for bucket, path in read.spill_files.items():
                state.bucket_files[bucket].append(path)
            split_join.absorb(read.claims)
            fixer.counts.update(read.fixes)
            rows.append(read.claims.rows)
            sizes.append(read.sizes)
        state.reads.clear()
        if needed < len(job.parts):
            split_join.check_annotated()
        else:
            split_join.check_complete()
        fixer.log(f"ILSVRC2012 {job.name} ({job.images_source})")
        rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
        if self.max_examples is not None:
            rows, sizes = rows[: self.max_examples], sizes[: self.max_examples]
        positions = np.sort(state.position_of_row[rows])
        state.num_bytes = int(sizes.sum())
        ends = self.output.shard_boundaries(state.num_bytes, len(positions))
        paths = self.output.shard_paths(job.name, len(ends))
        state.num_shards = len(ends)
        start = 0
        for index, (end, path) in enumerate(zip(ends, paths, strict=True)):
            shard_positions = positions[start:end]
            start = end
            buckets = state.buckets.spanned(shard_positions)
            state.bucket_users.update(buckets)
            spill_files = {bucket: tuple(state.bucket_files[bucket]) for bucket in buckets}
            pool.submit(_WriteShard(job.name, index, path, shard_positions, spill_files))

    def _shard_written(self, state: _SplitState, task: _WriteShard, shard: WrittenShard) -> None:
        state.shards[task.index] = shard
        for bucket in state.buckets.spanned(task.positions):
            state.bucket_users[bucket] -= 1
            if state.bucket_users[bucket] == 0:
                for path in state.bucket_files.pop(bucket, []):
                    os.remove(path)
        if len(state.shards) == state.num_shards:
            self._close_bar(state, "write")
            shutil.rmtree(state.spill_dir, ignore_errors=True)

    def written(self) -> list[WrittenSplit]:
        return [
            WrittenSplit(
                name,
                [state.shards[index] for index in range(state.num_shards)],
                state.num_bytes,
            )
            for name, state in self.splits.items()
        ]

    def _close_bar(self, state: _SplitState, stage: str) -> None:
        bar = state.bars.pop(stage, None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        for state in self.splits.values():
            for stage in list(state.bars):
                self._close_bar(state, stage)
            shutil.rmtree(state.spill_dir, ignore_errors=True)
