"""A built dataset checked against the sizes and sha256 recorded when it was written.

A build without Beam writes the same bytes whatever the machine and worker count, and
records the size and sha256 of every file it writes (shards and example indexes) in
its metadata (`metadata.json`, key `METADATA_KEY`). A dataset copied between clusters,
or a shard cut short by a full disk, is then found by `imagenet-pi check-build`, which
names every file that is missing, of the wrong size, or of other content.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from imagenet_pi import built_datasets, errors, internals, paths
from imagenet_pi.generation import record_files, worker_count, worker_pool

METADATA_KEY = "file_checksums"


class BuildCheckError(errors.ImagenetPiError, ValueError):
    """A built dataset does not match what was recorded when it was written."""


@dataclasses.dataclass(frozen=True)
class FileVerdict:
    """One file of a build: where it is, and what is wrong with it (None if nothing)."""

    path: str
    problem: str | None


@dataclasses.dataclass(frozen=True)
class BuildCheck:
    """The verdict on every recorded file of a build."""

    dataset: str
    data_dir: str
    verdicts: list[FileVerdict]

    @property
    def problems(self) -> list[FileVerdict]:
        return [verdict for verdict in self.verdicts if verdict.problem is not None]


@dataclasses.dataclass(frozen=True)
class _HashFile:
    path: str

    def describe(self) -> str:
        return self.path


def recorded_files(builder) -> dict[str, dict[str, object]]:
    """File name -> {"num_bytes", "sha256"} (and "num_examples" for a shard), as the build
    recorded them (empty if none)."""
    return dict(builder.info.metadata.get(METADATA_KEY) or {})


def check_build(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    num_workers: int | None = None,
    progress: Callable[..., object] | None = None,
) -> BuildCheck:
    """Checks every file a build recorded: there, of its size, of its sha256.

    Args:
      name: "imagenet_pi/<config>" (a released or custom config).
      data_dir: where it was built (None: TFDS's default data_dirs).
      num_workers: processes hashing files at once (default: every CPU available).
      progress: a tqdm-like factory for a progress bar over the bytes (None: no bar).

    Raises:
      FileNotFoundError: the dataset is not built there.
      BuildCheckError: the build recorded no checksums (built on Beam, or by a version
        of imagenet_pi that did not record them), or lists shards it did not record.
    """
    builder = built_datasets.open_built(name, data_dir, reader="check-build", check_shards=False)
    folder = os.fspath(builder.data_dir)
    recorded = _recorded_for_every_shard(builder, folder)
    verdicts = {}
    for file_name, expected in sorted(recorded.items()):
        path = os.path.join(folder, file_name)
        verdicts[path] = _size_problem(path, int(expected["num_bytes"]))
    for file_name in sorted(os.listdir(folder)):
        if internals.is_shard_file_name(builder.name, file_name) and file_name not in recorded:
            verdicts[os.path.join(folder, file_name)] = (
                "not written by this build (a shard file of no split, with no recorded "
                "checksum, e.g. from another build): remove it"
            )
    to_hash = [path for path, problem in verdicts.items() if problem is None]
    expected_sums = {path: recorded[os.path.basename(path)]["sha256"] for path in to_hash}
    verdicts.update(_sha256_problems(expected_sums, num_workers, progress))
    return BuildCheck(
        builder.info.full_name,
        folder,
        [FileVerdict(path, verdicts[path]) for path in sorted(verdicts)],
    )


def _recorded_for_every_shard(builder, folder: str) -> dict[str, dict[str, object]]:
    """What the build recorded, checked to cover every shard its splits list."""
    metadata = os.path.join(folder, "metadata.json")
    if not os.path.isfile(metadata):
        raise BuildCheckError(
            f"{metadata} is missing: it holds the size and sha256 of every file of "
            f"{builder.info.full_name}, recorded when it was built (a copy of the build that "
            "left it out?). Copy it from where the dataset was built, or build it again."
        )
    recorded = recorded_files(builder)
    if not recorded:
        raise BuildCheckError(
            f"{builder.info.full_name} in {folder} records no checksums of its files: it was "
            "built on Beam, or by a version of imagenet_pi before they were recorded. Nothing "
            "to check against; build it again without Beam to record them."
        )
    shards = {
        os.path.basename(os.fspath(path))
        for split in builder.info.splits.values()
        for path in split.filepaths
    }
    unrecorded = sorted(shards - recorded.keys())
    if unrecorded:
        raise BuildCheckError(
            f"{builder.info.full_name} in {folder}: its splits list shards whose checksums it "
            f"did not record ({', '.join(unrecorded[:3])}{', ...' if len(unrecorded) > 3 else ''}"
            "); its dataset_info.json or metadata.json was changed or mixed with another "
            "build's. Build it again."
        )
    _check_shard_lengths(builder, recorded)
    unlisted = sorted(
        name
        for name in recorded
        if internals.is_shard_file_name(builder.name, name) and name not in shards
    )
    if unlisted:
        raise BuildCheckError(
            f"{builder.info.full_name} in {folder}: its metadata records shards that its "
            f"splits do not list ({', '.join(unlisted[:3])}{', ...' if len(unlisted) > 3 else ''}"
            "); its dataset_info.json or metadata.json was changed or mixed with another "
            "build's. Build it again."
        )
    return recorded


def _check_shard_lengths(builder, recorded: dict[str, dict[str, object]]) -> None:
    """Refuses shard lengths of dataset_info.json other than the examples each shard got.

    Builds record each shard's examples since 0.2.0; older records are not checked.
    """
    for split in builder.info.splits.values():
        for path, length in zip(split.filepaths, split.shard_lengths):
            written = recorded[os.path.basename(os.fspath(path))].get("num_examples")
            if written is not None and int(written) != int(length):
                raise BuildCheckError(
                    f"{os.path.join(os.fspath(builder.data_dir), 'dataset_info.json')} gives "
                    f"shard {os.path.basename(os.fspath(path))} {length} examples where the "
                    f"build wrote {written}: it was changed or mixed with another build's, "
                    "and readers would index other examples than asked. Build it again."
                )


def _size_problem(path: str, expected: int) -> str | None:
    """What is wrong with the file at `path` before its content is read, if anything."""
    problem = paths.not_a_file(path)
    if problem is not None:  # missing, or a folder (a copy stopped half-way), a broken link
        return "missing" if problem == paths.MISSING else problem
    size = os.path.getsize(path)
    if size == expected:
        return None
    how = "cut short" if size < expected else "too long"
    return f"has {size:,} bytes, expected {expected:,} ({how})"


def _sha256_problems(
    expected: dict[str, str],
    num_workers: int | None,
    progress: Callable[..., object] | None,
) -> dict[str, str | None]:
    """Path -> None if the file has the expected sha256, else what it has; hashed in parallel."""
    problems: dict[str, str | None] = {}
    bar = None
    if progress is not None:
        total = sum(os.path.getsize(path) for path in expected)
        bar = progress(total=total, unit="B", unit_scale=True, desc="Checking sha256")
    workers = max(1, min(num_workers or worker_count.available_cpus(), len(expected)))
    try:
        with worker_pool.WorkerPool(_hash_file, num_workers=workers) as pool:
            for path in expected:
                pool.submit(_HashFile(path))
            for done in pool.results():
                found, wanted = done.result.sha256, expected[done.task.path]
                problems[done.task.path] = (
                    None if found == wanted else f"sha256 {found}, expected {wanted}"
                )
                if bar is not None:
                    bar.update(done.result.num_bytes)
    finally:
        if bar is not None:
            bar.close()
    return problems


def _hash_file(task: _HashFile, progress: Callable[[int], None]) -> record_files.WrittenFile:
    return record_files.sha256_of(task.path)


def raise_for_problems(check: BuildCheck) -> None:
    """Raises `BuildCheckError` naming every bad file of `check`, if any."""
    problems = check.problems
    if not problems:
        return
    listed = "\n".join(f"  {verdict.path}: {verdict.problem}" for verdict in problems)
    raise BuildCheckError(
        f"{len(problems)} of the {len(check.verdicts)} files of {check.dataset} in "
        f"{check.data_dir} do not match what was recorded when it was built:\n{listed}\n"
        "Copy those files again from a good copy, or build the dataset again (delete "
        f"{check.data_dir} first)."
    )
