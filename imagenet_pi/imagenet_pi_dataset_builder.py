"""The `imagenet_pi` TFDS builder: configs, features and splits. It joins, nothing more.

Images come from `ilsvrc`, annotator labels and confidences from `annotations`,
and the files behind them from `annotations.origins`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from imagenet_pi import (
    annotations,
    build_checks,
    build_identity,
    damaged_builds,
    dataset_card,
    ilsvrc,
    internals,
    relabel,
    synsets,
    upstream,
)
from imagenet_pi.annotations import download, origins, releases
from imagenet_pi.generation import (
    build_lock,
    example_index,
    parallel_build,
    record_files,
    worker_count,
)
from imagenet_pi.ilsvrc import verification

# What `tfds.load("imagenet_pi/<name>")` can parse back: no '/', ':', ',' or '='.
CONFIG_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # whole names: fullmatch


def check_config_name(name: object) -> str:
    """`name` if `tfds.load("imagenet_pi/<name>")` can parse it back; else ValueError."""
    if not isinstance(name, str) or not CONFIG_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"name: expected letters, digits, '_', '.' or '-' (a name tfds.load can parse in "
            f"'imagenet_pi/<name>'), found {name!r}"
        )
    return name


@dataclasses.dataclass(eq=False)
class ImagenetPiConfig(tfds.core.BuilderConfig):
    """A noise level of ImageNet-PI.

    Attributes:
      beta: rate of the Gamma(1, beta) temperature distribution (E[T] = 1 / beta).
      annotations_dir: a folder in the upstream layout (`labels/`, `confidences/`,
        `annotator_features.csv`) to build from; None for the released configs,
        whose files are found in the manual_dir or downloaded.
      verify_archives: check the sha256 of the ILSVRC2012 tars before reading them (minutes
        to an hour); None, the default, leaves it to the environment variable
        `IMAGENET_PI_VERIFY_ARCHIVES`, read once when a build starts. How a dataset is
        checked, not what it holds.
    """

    beta: float | None = None
    annotations_dir: str | None = None
    verify_archives: bool | None = None

    def __post_init__(self) -> None:
        # Also reached by `tfds build --config '{...}'`: a name TFDS cannot parse back would
        # build a dataset no reader can open, and a bad beta must not reach the metadata.
        check_config_name(self.name)
        if self.beta is not None:
            self.beta = relabel.check_beta(self.beta)
        self.verify_archives = verification.check_verify_setting(self.verify_archives)


def _released_config(name: str) -> ImagenetPiConfig:
    level = upstream.NOISE_LEVELS[name]
    return ImagenetPiConfig(
        name=name,
        description=(
            f"Annotator labels sampled with beta = {level.beta} (temperatures with mean "
            f"{1 / level.beta:g}); {level.expected_agreement:.1%} of them equal the clean label."
        ),
        beta=level.beta,
    )


class Builder(internals.BuilderHooks, tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """ImageNet-PI: ILSVRC2012 with 16 annotator labels, confidences and annotator features."""

    VERSION = tfds.core.Version("3.0.0")
    RELEASE_NOTES = {
        "3.0.0": (
            "The 22 CMYK JPEGs and the PNG of ILSVRC2012 train (and any other odd image) "
            "are re-encoded at quality 100 without chroma subsampling (4:4:4), within ~5 "
            "levels of the original's pixels; 2.0.0 used TFDS's 4:2:0 re-encode, off by up "
            "to ~150 levels on detailed images. In the shards only those images' bytes "
            "change. New beside the shards: example_index-<split>.npz, the clean label "
            "of every index and upstream's (class, file name) order, for readers that "
            "must not read images."
        ),
        "2.0.0": (
            "Configs high_noise and low_noise; annotator_features per example and in "
            "metadata; strict join of images and annotations; PI CSVs downloaded with "
            "pinned checksums or read from a clone in manual_dir."
        ),
        "1.0.0": "TFDS's original release (no configs, no annotator features).",
    }
    BUILDER_CONFIGS = [_released_config(name) for name in upstream.NOISE_LEVELS]
    DEFAULT_BUILDER_CONFIG_NAME = "high_noise"
    MANUAL_DOWNLOAD_INSTRUCTIONS = dataset_card.MANUAL_DOWNLOAD_INSTRUCTIONS
    # The PI CSVs are downloaded from <CSV_URL_ROOT>/<config>/<path>; checksums.tsv pins each URL.
    CSV_URL_ROOT = upstream.LFS_URL_ROOT

    def __init__(
        self,
        *,
        config: str | ImagenetPiConfig | None = None,
        build_workers: int | None = None,
        **kwargs,
    ) -> None:
        """TFDS's builder arguments, and:

        Args:
          build_workers: worker processes a build (without Beam) uses; None: the
            environment variable `IMAGENET_PI_BUILD_WORKERS`, else every CPU this process
            may run on. 1 builds in this process. The dataset is the same, byte for
            byte, for any number. Pass it as `tfds.builder(..., build_workers=N)` or
            `tfds.load(..., builder_kwargs={"build_workers": N})`.
        """
        if build_workers is not None:
            worker_count.check(build_workers)
        if isinstance(config, str):
            # TFDS's own message lists close matches, which are none for most typos.
            _check_config_name(config.split(":")[0], kwargs.get("data_dir"))
        self._build_workers = build_workers
        super().__init__(config=config, **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        num = upstream.NUM_ANNOTATORS
        info = self.dataset_info_from_configs(
            description=dataset_card.DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(encoding_format="jpeg"),
                    "file_name": tfds.features.Text(),
                    "clean_label": tfds.features.ClassLabel(
                        names_file=os.fspath(synsets.synsets_path())
                    ),
                    "annotator_labels": tfds.features.Tensor(shape=(num,), dtype=np.int64),
                    "annotator_confidences": tfds.features.Tensor(shape=(num,), dtype=np.float32),
                    "annotator_features": tfds.features.Tensor(
                        shape=(num, upstream.NUM_ANNOTATOR_FEATURES), dtype=np.float32
                    ),
                }
            ),
            supervised_keys=("image", "annotator_labels"),
            homepage=dataset_card.HOMEPAGE,
            citation=dataset_card.CITATION,
            metadata=tfds.core.MetadataDict(),
        )
        # TFDS's bucket holds no info of ImageNet-PI: do not ask (nor leave a tmp folder).
        return internals.without_gcs_lookup(info)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        # Read once, before any input: a bad IMAGENET_PI_VERIFY_ARCHIVES stops the build here.
        verify_archives = verification.verify_archives(self.builder_config.verify_archives)
        manual_dir = os.fspath(dl_manager.manual_dir)  # raises with the instructions if absent
        files, annotations_source = origins.resolve(
            self.builder_config.name,
            annotations_dir=self.builder_config.annotations_dir,
            manual_dir=manual_dir,
            pinned=self._pinned_files(),
            download=functools.partial(download.download, dl_manager),
        )
        # What this build is made from, for later builds of the name to be checked against.
        inputs = build_identity.BuildInputs(
            max_examples_per_split=getattr(self, "_max_examples_per_split", None),
            beta=self.builder_config.beta,
            annotations_sha256=build_identity.annotation_digests(files),
            annotations_source=annotations_source,
            relabel_seed=build_identity.relabel_seed(self.builder_config.annotations_dir),
        )
        annotator_features = annotations.read_annotator_features(
            files[upstream.ANNOTATOR_FEATURES_RELPATH]
        )
        split_annotations = {
            split: annotations.read_split_files(
                files[upstream.csv_relpath("labels", split)],
                files[upstream.csv_relpath("confidences", split)],
            )
            for split in upstream.SPLITS
        }
        write_orders = {
            split: internals.write_order(split, rows.names())
            for split, rows in split_annotations.items()
        }
        for split, rows in split_annotations.items():
            # Clean labels and upstream order by index, for readers that must not read images.
            example_index.write(
                internals.generation_dir(self), split, rows.file_names, write_orders[split]
            )
        images = ilsvrc.detect_layout(manual_dir, verify_archives=verify_archives)
        self.info.metadata.update(
            annotator_features=annotator_features.tolist(),
            images_source=images.description,
            **inputs.metadata(),
        )
        # Validation first: it is small, so a mismatch with the CSVs shows within minutes.
        return {
            split: self._generate_examples(
                images,
                split,
                split_annotations[split],
                write_order=write_orders[split],
                labels_csv=files[upstream.csv_relpath("labels", split)],
                confidences_csv=files[upstream.csv_relpath("confidences", split)],
                annotator_features=annotator_features,
            )
            for split in ("validation", "train")
        }

    def download_and_prepare(self, **kwargs) -> None:
        """TFDS's `download_and_prepare`, one build of this config version at a time.

        A second build of it into the same data_dir waits for the first and then reuses
        its dataset; folders left by killed builds are removed (see `build_lock`). A
        dataset of this name that is there already is reused only if it was built from
        what this build asks for (`build_identity`); otherwise `BuildInputsError`.
        Without Beam, the build runs on `build_workers` processes (see `__init__`).
        """
        download_config = kwargs.get("download_config") or tfds.download.DownloadConfig()
        on_beam = bool(download_config.beam_runner or download_config.beam_options)
        self._max_examples_per_split = build_identity.check_max_examples_per_split(
            download_config.max_examples_per_split, on_beam=on_beam
        )
        # `is_prepared()` would log TFDS's "Variant folder ... has no dataset_info.json".
        if not (self.data_path / "dataset_info.json").exists():
            self._check_data_dir_is_no_build()
            if not on_beam:
                # A bad IMAGENET_PI_BUILD_WORKERS is refused before anything is read.
                self._build_workers = worker_count.resolve(self._build_workers)

        def check_reuse() -> None:
            requested = build_identity.requested_inputs(
                self.builder_config,
                manual_dir=download_config.manual_dir,
                max_examples_per_split=self._max_examples_per_split,
                pinned=self._pinned_files(),
            )
            build_identity.check_reuse(
                self.info.full_name, self.data_dir, self.info.metadata, requested
            )

        build_lock.prepare_once(
            self, super().download_and_prepare, check_reuse=check_reuse, **kwargs
        )

    def _check_data_dir_is_no_build(self) -> None:
        """Refuses a data_dir that is a folder inside a build (its version, config or
        `imagenet_pi` folder, as a file browser shows it), before TFDS builds a dataset
        inside it, asking for a manual_dir the user never meant to give."""
        from imagenet_pi import built_datasets

        root = self.data_path.parents[2]  # <data_dir>/imagenet_pi/<config>/<version>
        inside = built_datasets.inside_build(root, self.name, self.builder_config.name)
        if inside is None:
            return
        config_dir, _ = inside
        raise FileNotFoundError(
            f"{self.name}/{self.builder_config.name}: data_dir {os.fspath(root)} is a folder "
            f"inside the build of {self.name}/{config_dir.name}, not a data_dir: nothing is "
            f"built there. Pass the data_dir that holds {self.name}/: "
            f"data_dir={os.fspath(config_dir.parent.parent)}"
        )

    def as_dataset(self, *args, **kwargs):
        """TFDS's `as_dataset` (what `tfds.load` reads), of the build this config names."""
        self._check_build()
        return super().as_dataset(*args, **kwargs)

    def as_data_source(self, *args, **kwargs):
        """TFDS's `as_data_source` (`tfds.data_source`), of the build this config names."""
        self._check_build()
        return super().as_data_source(*args, **kwargs)

    def _check_build(self) -> None:
        # Once a builder: a custom config's CSVs are hashed to compare them with the build's.
        if not getattr(self, "_build_checked", False):
            build_identity.check_read(self)
            self._build_checked = True
        build_identity.warn_if_partial(self)
        if (self.data_path / "dataset_info.json").exists():
            # One listing: a lost or cut shard named with check-build, not as TensorFlow's
            # NotFound or DataLoss (or array_record's empty records).
            damaged_builds.check_shard_files(self)

    def _pinned_files(self) -> releases.PinnedFiles:
        return releases.pinned_files(self.url_infos, self.CSV_URL_ROOT)

    def write_splits(
        self, dl_manager: tfds.download.DownloadManager, download_config
    ) -> list[tfds.core.SplitInfo]:
        """Writes every split without Beam, on `build_workers` processes (`parallel_build`).

        Records the size and sha256 of every file written (shards, example indexes), and
        each shard's examples, in the metadata, for `imagenet-pi check-build`.
        """
        jobs = list(self._split_generators(dl_manager).values())
        shard_config = download_config.get_shard_config()
        output = parallel_build.Output(
            file_format=self.info.file_format.value,
            shard_paths=lambda split, count: internals.shard_paths(
                self.filename_template(split), count
            ),
            shard_boundaries=functools.partial(internals.shard_boundaries, shard_config),
            serialize=internals.ExampleSerializer(self.info.features),
            spill_dir=os.fspath(internals.generation_dir(self)),
            write_other_format=internals.write_with_file_adapter,
        )
        written = parallel_build.write_splits(
            jobs,
            output,
            num_workers=worker_count.resolve(self._build_workers),
            max_examples_per_split=download_config.max_examples_per_split,
            progress_bar=internals.progress_bar,
        )
        files = {
            shard.file_name: {
                "num_bytes": shard.num_bytes,
                "sha256": shard.sha256,
                "num_examples": shard.num_examples,
            }
            for split in written
            for shard in split.shards
        }
        for split in written:
            index_path = example_index.path(internals.generation_dir(self), split.name)
            if index_path.exists():
                index_file = record_files.sha256_of(index_path)
                files[index_path.name] = {
                    "num_bytes": index_file.num_bytes,
                    "sha256": index_file.sha256,
                }
        self.info.metadata[build_checks.METADATA_KEY] = files
        return [
            internals.split_info(
                self.filename_template(split.name), split.shard_lengths, split.num_bytes
            )
            for split in written
        ]

    @contextlib.contextmanager
    def generating(self, *, on_beam: bool) -> Iterator[None]:
        """Around the generation of every split (see `internals.BuilderHooks`).

        On Beam, `_generate_examples` returns PTransforms; a worker's `JoinError` is
        re-raised as such, and every joined example must have been written.
        """
        self._on_beam = on_beam
        self._joined_sizes: dict[str, int] = {}
        if not on_beam:
            yield
            return

        # The module, under another name: `on_beam` here is the hook's flag.
        from imagenet_pi.generation import on_beam as beam_generation

        with beam_generation.join_errors_from_workers():
            yield
        written = {name: split.num_examples for name, split in self.info.splits.items()}
        beam_generation.check_written_sizes(written, self._joined_sizes)

    def _generate_examples(
        self,
        images: ilsvrc.Layout,
        split: str,
        split_annotations: annotations.SplitAnnotations,
        *,
        write_order: np.ndarray,
        labels_csv: str,
        confidences_csv: str,
        annotator_features: np.ndarray,
    ):
        make_example = functools.partial(example, annotator_features=annotator_features)
        if getattr(self, "_on_beam", False):
            from imagenet_pi.generation import on_beam

            # A complete join gives every row one image: that is the split's size.
            self._joined_sizes[split] = len(split_annotations)
            return on_beam.GenerateExamples(
                images.parts(split),
                # Parsed once more, on one worker: workers get arrays, never the CSVs.
                functools.partial(annotations.read_split_files, labels_csv, confidences_csv),
                make_example,
                images_source=images.location(split),
                annotations_source=labels_csv,
            )
        return parallel_build.SplitJob(
            name=split,
            parts=images.parts(split),
            annotations=split_annotations,
            write_order=write_order,
            make_example=make_example,
            images_source=images.location(split),
            annotations_source=labels_csv,
        )


def _built_custom_configs(data_dir: str | os.PathLike | None) -> dict[str, list[str]]:
    """Names of the custom configs built in `data_dir` (None: TFDS's data_dirs) -> data_dirs."""
    found: dict[str, list[str]] = {}
    for root in internals.data_dirs(data_dir):
        for info_file in sorted((root / Builder.name).glob("*/*/dataset_info.json")):
            name = info_file.parent.parent.name
            if name not in upstream.NOISE_LEVELS:
                found.setdefault(name, []).append(os.fspath(root))
    return found


def _check_config_name(name: str, data_dir: str | os.PathLike | None) -> None:
    if name in Builder.builder_configs:
        return
    released = ", ".join(
        f"{level} (beta = {upstream.NOISE_LEVELS[level].beta:g})" for level in upstream.NOISE_LEVELS
    )
    where = (
        os.fspath(data_dir)
        if data_dir is not None
        else " or ".join(os.fspath(root) for root in internals.data_dirs(None))
    )
    custom = _built_custom_configs(data_dir)
    built = ", ".join(sorted(custom)) if custom else "none"
    raise ValueError(
        f"imagenet_pi has no config {name!r}: expected a released config, {released}, or a "
        f"custom config built in the data_dir (in {where}: {built}). To build a new noise "
        "level, pass config=imagenet_pi.custom_config(<annotations dir>) (see the imagenet_pi "
        'docs, docs/noise-levels.md, "Any noise level").'
    )


def example(
    record: ilsvrc.ImageRecord,
    split_annotations: annotations.SplitAnnotations,
    row: int,
    *,
    annotator_features: np.ndarray,
) -> tuple[str, dict[str, Any]]:
    """The `(key, example)` of an image and its annotation row, on every generation path."""
    return record.file_name, {
        "image": record.image,
        "file_name": record.file_name,
        "clean_label": record.synset,
        "annotator_labels": split_annotations.labels[row].astype(np.int64),
        "annotator_confidences": split_annotations.confidences[row],
        "annotator_features": annotator_features,
    }


# TFDS ships a config-less builder of the same name, which this one replaces.
internals.register_builder(Builder)
