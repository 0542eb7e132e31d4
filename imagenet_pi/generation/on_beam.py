"""Examples of one split generated on Apache Beam: parts fan out to workers.

Each worker reads whole parts of an ILSVRC2012 layout (`ilsvrc.Layout.parts`: a
per-synset tar, a run of validation images, ...) and pairs every image with its
annotation row. The annotations are parsed once per split, on one worker, and reach
the others as a side input (`(num_examples, 16)` arrays, not the CSVs). Image bytes
never move between workers before TFDS's writer.

The join guarantees of the single-process path (`join.Join`) hold here too: every
part reports the file names it read, and a last step checks, over all parts,
that every image had exactly one row and every row exactly one image. If not, it
raises the same `join.JoinError` and the pipeline, hence the build, fails. After
the pipeline, `check_written_sizes` makes sure the runner wrote every joined example.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np

from imagenet_pi import annotations, errors, ilsvrc
from imagenet_pi.generation import join

# (key, example) as TFDS wants them from `_generate_examples`.
KeyExample = tuple[str, dict[str, Any]]
MakeExample = Callable[[ilsvrc.ImageRecord, annotations.SplitAnnotations, int], KeyExample]

_NAMES_TAG = "file_names"


class GenerateExamples(beam.PTransform):
    """The `(key, example)` pairs of one split, read part by part on Beam workers.

    Args:
      parts: the split's parts (picklable, each readable on its own).
      read_annotations: returns the split's annotations; called once, on one worker
        (e.g. `functools.partial(annotations.read_split_files, labels_csv, confidences_csv)`).
      make_example: `(record, split_annotations, row) -> (key, example)`, the same
        function the single-process path uses.
      images_source, annotations_source: what to name in join errors (archive or
        folder, labels CSV).
    """

    def __init__(
        self,
        parts: Sequence[ilsvrc.Part],
        read_annotations: Callable[[], annotations.SplitAnnotations],
        make_example: MakeExample,
        images_source: str,
        annotations_source: str,
    ) -> None:
        super().__init__()
        self._parts = list(parts)
        self._read_annotations = read_annotations
        self._make_example = make_example
        self._images_source = images_source
        self._annotations_source = annotations_source

    def expand(self, pipeline_begin: beam.pvalue.PBegin) -> beam.PCollection:
        split_annotations = beam.pvalue.AsSingleton(
            pipeline_begin
            | "OneAnnotationsRead" >> beam.Create([None])
            | "ReadAnnotations" >> beam.Map(lambda _, read: read(), self._read_annotations)
        )
        # Create reshuffles its elements, which spreads the parts over the workers.
        read = (
            pipeline_begin
            | "Parts" >> beam.Create(list(enumerate(self._parts)))
            | "ReadParts"
            >> beam.ParDo(_ReadPart(self._make_example), split_annotations).with_outputs(
                _NAMES_TAG, main="examples"
            )
        )
        _ = (
            read[_NAMES_TAG]
            | "AllFileNames" >> beam.combiners.ToList()
            | "CheckJoin"
            >> beam.Map(
                check_join_on_worker,
                split_annotations,
                images_source=self._images_source,
                annotations_source=self._annotations_source,
            )
        )
        return read.examples


class _ReadPart(beam.DoFn):
    """Reads one part: its examples, then `(part index, file names read)` on the side."""

    def __init__(self, make_example: MakeExample) -> None:
        self._make_example = make_example

    def process(
        self,
        indexed_part: tuple[int, ilsvrc.Part],
        split_annotations: annotations.SplitAnnotations,
    ) -> Iterator[KeyExample | beam.pvalue.TaggedOutput]:
        index, part = indexed_part
        names = []
        for record in part.read():
            names.append(record.file_name)
            row = int(split_annotations.rows([record.file_name])[0])
            if row >= 0:  # Images without a row are reported by check_join.
                yield self._make_example(record, split_annotations, row)
        yield beam.pvalue.TaggedOutput(_NAMES_TAG, (index, names))


def check_join(
    part_file_names: Sequence[tuple[int, Sequence[str]]],
    split_annotations: annotations.SplitAnnotations,
    images_source: str,
    annotations_source: str,
) -> None:
    """Raises `join.JoinError` unless images and annotation rows match one to one.

    Args:
      part_file_names: `(part index, file names read from the part)`, any order.
      split_annotations: the split's annotations.
      images_source, annotations_source: named in the error.
    """
    names = [name for _, part_names in sorted(part_file_names) for name in part_names]
    rows = split_annotations.rows(names)
    counts = np.bincount(rows[rows >= 0], minlength=len(split_annotations))
    if (rows >= 0).all() and (counts == 1).all():
        return
    # Something is off: replay the images in part order through the single-process
    # join, so that the error (counts, first names) is the one that path gives.
    image_join = join.Join(split_annotations, images_source, annotations_source)
    for name in names:
        image_join.claim(name)
    image_join.check_complete()


def check_join_on_worker(
    part_file_names: Sequence[tuple[int, Sequence[str]]],
    split_annotations: annotations.SplitAnnotations,
    images_source: str,
    annotations_source: str,
) -> None:
    """`check_join`, its JoinError marked so that the driver finds it in the runner's error."""
    try:
        check_join(part_file_names, split_annotations, images_source, annotations_source)
    except join.JoinError as error:
        raise error.marked() from None


class LostExamplesError(errors.ImagenetPiError, RuntimeError):
    """The pipeline wrote fewer (or more) examples than the join gave it."""


def check_written_sizes(written: Mapping[str, int], joined: Mapping[str, int]) -> None:
    """Raises `LostExamplesError` unless every split holds as many examples as were joined.

    Args:
      written: split -> examples in the written files (TFDS's split info).
      joined: split -> examples the join produced (its annotation rows, every one
        matched by exactly one image).
    """
    wrong = {split: (written.get(split, 0), size) for split, size in joined.items()}
    wrong = {split: sizes for split, sizes in wrong.items() if sizes[0] != sizes[1]}
    if wrong:
        found = "; ".join(
            f"split {split!r}: {count:,} written, {size:,} joined"
            for split, (count, size) in wrong.items()
        )
        raise LostExamplesError(
            f"The Beam pipeline did not write every example ({found}). The images and the "
            "annotations matched, so the runner dropped examples: Beam 2.77's DirectRunner "
            "does so, now and then, in multi_processing mode on splits of about 1 GB and "
            "more. Nothing was written as finished. On one machine, build without Beam "
            "options (single process, faster); on a cluster, use a distributed runner "
            "(Dataflow, Flink, Spark)."
        )


@contextlib.contextmanager
def join_errors_from_workers() -> Iterator[None]:
    """Re-raises a worker's `JoinError` as such, however the runner wrapped it."""
    try:
        yield
    except Exception as error:
        join_error = join_error_in(error)
        if join_error is None or join_error is error:
            raise
        raise join_error from error


def join_error_in(error: BaseException) -> join.JoinError | None:
    """The `JoinError` behind a failed pipeline, if that is why it failed.

    Runners that run workers in other processes (DirectRunner in multi_processing
    mode, Dataflow, Flink, Spark) re-raise a worker's error as their own, with the
    traceback as text; the worker raised it marked (`JoinError.marked`), so its
    message is found in that text whatever the runner wrapped around it.
    """
    found = join.JoinError.from_text(str(error))
    if found is None and isinstance(error, join.JoinError):
        return error
    return found
