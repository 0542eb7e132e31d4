"""Builds on Apache Beam: the single-process build's examples, from Python and from the `tfds`
command, the same join checks, and what a Beam build ignores or writes."""

from __future__ import annotations

import pytest
import worker_builds

from imagenet_pi.generation import worker_count


@pytest.mark.slow
def test_beam_builds_ignore_the_environment_variable(small_sample, tmp_path, monkeypatch):
    import apache_beam as beam

    manual_dir, sample = small_sample
    monkeypatch.setenv(worker_count.ENV, "not a number")
    options = beam.options.pipeline_options.PipelineOptions(
        ["--runner=DirectRunner", "--direct_running_mode=in_memory"]
    )
    builder = worker_builds.build(manual_dir, tmp_path, workers=None, beam_options=options)
    assert builder.info.splits["train"].num_examples == len(sample.train_file_names)
