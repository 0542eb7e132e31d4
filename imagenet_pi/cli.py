"""The `imagenet-pi` command."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence

from imagenet_pi import errors, fake_data, upstream


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: an integer in low..high (no upper bound if None)."""
    valid = fake_data.int_range(low, high)  # the same words as the Python API's checks

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {valid}, found {text!r}")
        return value

    return parse


def _float_in(low: float, high: float = math.inf, *, low_open: bool) -> Callable[[str], float]:
    """An argparse `type`: a finite number in (low, high] (or [low, high] if not low_open)."""
    if high < math.inf:
        valid = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    else:
        valid = f"a finite number {'>' if low_open else '>='} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            raise argparse.ArgumentTypeError(f"expected {valid}, found {text!r}")
        return value

    return parse


def _folder_to_write(text: str) -> str:
    """An argparse `type`: a folder, or a path where one can be made (not a file)."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"expected a folder to write into (or a path to create one at), found a file: {text}"
        )
    return text


def _add_sample_flags(
    parser: argparse.ArgumentParser, *, synsets: int, images: int, val: int, odd: int = 0
):
    parser.add_argument(
        "--synsets",
        type=_int_in(1, upstream.NUM_CLASSES),
        default=synsets,
        help=f"number of train synsets (1..{upstream.NUM_CLASSES})",
    )
    parser.add_argument(
        "--images-per-synset",
        type=_int_in(1, fake_data.MAX_IMAGES_PER_SYNSET),
        default=images,
        help=f"train images per synset (1..{fake_data.MAX_IMAGES_PER_SYNSET})",
    )
    parser.add_argument(
        "--validation",
        type=_int_in(1, fake_data.MAX_VALIDATION),
        default=val,
        help=f"validation images (1..{fake_data.MAX_VALIDATION})",
    )
    parser.add_argument(
        "--image-size",
        type=_int_in(fake_data.MIN_IMAGE_SIZE, fake_data.MAX_IMAGE_SIZE),
        default=64,
        help=f"image side in pixels ({fake_data.MIN_IMAGE_SIZE}..{fake_data.MAX_IMAGE_SIZE})",
    )
    parser.add_argument("--cmyk", type=_int_in(0), default=odd, help="CMYK JPEGs per split (>= 0)")
    parser.add_argument(
        "--png", type=_int_in(0), default=odd, help="PNGs named .JPEG per split (>= 0)"
    )
    parser.add_argument("--seed", type=_int_in(0), default=0, help="random seed (>= 0)")
    parser.set_defaults(check_flags=_check_odd_images)


def _check_odd_images(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits with a usage error if the odd images do not fit in the smaller split."""
    # The first images of each split are the odd ones: both splits must have that many.
    smaller_split = min(args.synsets * args.images_per_synset, args.validation)
    if args.cmyk + args.png > smaller_split:
        parser.error(
            f"argument --cmyk/--png: expected at most {smaller_split} odd images a split "
            f"together (the images of the smaller split), found {args.cmyk + args.png}"
        )


def _sample_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        num_synsets=args.synsets,
        images_per_synset=args.images_per_synset,
        num_validation=args.validation,
        image_size=args.image_size,
        num_cmyk=args.cmyk,
        num_png=args.png,
        seed=args.seed,
    )


def _fake_data(args: argparse.Namespace) -> None:
    sample = fake_data.write_sample(args.out, configs=args.configs, **_sample_kwargs(args))
    print(
        f"Wrote {len(sample.train_file_names)} train and {len(sample.validation_file_names)} "
        f"validation images to {sample.train_tar} and {sample.val_tar}, and PI CSVs for "
        f"{', '.join(args.configs)} under {os.path.join(args.out, 'imagenet_pi')}."
    )


def _demo(args: argparse.Namespace) -> None:
    import numpy as np
    import tensorflow_datasets as tfds
    from PIL import Image

    import imagenet_pi

    tfds.disable_progress_bar()
    workdir = args.workdir or tempfile.mkdtemp(prefix="imagenet_pi_demo_")
    manual_dir = os.path.join(workdir, "manual")
    data_dir = os.path.join(workdir, "tensorflow_datasets")
    name = f"imagenet_pi/{args.config}"
    print(f"1. Synthetic ILSVRC2012 tars and ImageNet-PI CSVs -> {manual_dir}")
    fake_data.write_sample(manual_dir, configs=[args.config], **_sample_kwargs(args))
    print(f"2. Building {name} with the TFDS builder -> {data_dir}")
    builder = tfds.builder(name, data_dir=data_dir)
    # The sample is small on purpose: the archive size warnings about it would only alarm.
    # TFDS's own "Downloading and preparing..." lines repeat step 2.
    with _without_warnings_about(manual_dir), contextlib.redirect_stdout(io.StringIO()):
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
        )
    print(f"3. Loading it with tfds.load({name!r}, data_dir=...)\n")
    splits = tfds.load(
        name,
        data_dir=data_dir,
        split=["train", "validation"],
        decoders={"image": tfds.decode.SkipDecoding()},  # JPEG bytes; decoded below for one
    )
    level = upstream.NOISE_LEVELS[args.config]
    for split, dataset in zip(["train", "validation"], splits):
        batch = next(iter(tfds.as_numpy(dataset.batch(1_000_000))))
        agreement = np.mean(batch["annotator_labels"] == batch["clean_label"][:, None])
        print(
            f"  {split:<10} {len(batch['file_name']):>6} examples; annotator labels agree "
            f"with the clean label {agreement:.1%} of the time (ImageNet-PI {args.config}: "
            f"{level.expected_agreement:.1%})"
        )
    example = next(iter(tfds.as_numpy(splits[0].take(1))))
    image = np.asarray(Image.open(io.BytesIO(example["image"])))  # as TFDS decodes it
    features = imagenet_pi.annotator_features(builder)
    print(f"\n  One example: {example['file_name'].decode()}, image {image.shape} uint8")
    synset = builder.info.features["clean_label"].int2str(example["clean_label"])
    print(f"    clean_label            {example['clean_label']} ({synset})")
    print(f"    annotator_labels       {example['annotator_labels'].tolist()}")
    confidences = np.array2string(example["annotator_confidences"], precision=2)
    print(f"    annotator_confidences  {confidences}")
    print(f"    annotator_features     {features.shape} float32, first row {features[0]}")
    print(f"\nDone. Dataset in {data_dir}.")


def _verify(args: argparse.Namespace) -> None:
    from imagenet_pi.ilsvrc import verification

    paths = {
        name: os.path.join(args.manual_dir, name) for name in (upstream.TRAIN_TAR, upstream.VAL_TAR)
    }
    present = {name: path for name, path in paths.items() if os.path.isfile(path)}
    if not present:
        raise FileNotFoundError(
            f"Neither {paths[upstream.TRAIN_TAR]} nor {paths[upstream.VAL_TAR]} exists. "
            "`verify` checks the ILSVRC2012 tars, the only form with official checksums; "
            "extracted folders and prepared datasets cannot be checked this way."
        )
    for name in paths.keys() - present.keys():
        print(f"{paths[name]}: not there, not checked.")
    for warning in verification.size_warnings(present, log=False):
        print(f"Size: {warning}")
    for verdict in verification.verify(present, progress=True, raise_on_mismatch=True):
        print(f"{verdict.path}: OK (sha256 {verdict.found_sha256})")


def _add_verify_command(commands) -> None:
    verify = commands.add_parser(
        "verify",
        help="check the ILSVRC2012 tars in a manual_dir against the official sizes and sha256",
    )
    verify.add_argument(
        "--manual_dir", "--manual-dir", required=True, help="the folder holding the tars"
    )
    verify.set_defaults(run=_verify)


def _check_build(args: argparse.Namespace) -> None:
    from imagenet_pi import build_checks

    progress = None
    if not args.no_progress:
        from tqdm import tqdm as progress
    check = build_checks.check_build(args.dataset, args.data_dir, progress=progress)
    build_checks.raise_for_problems(check)
    print(
        f"{check.dataset} in {check.data_dir}: all {len(check.verdicts)} files match the "
        "sizes and sha256 recorded when it was built."
    )


def _add_check_build_command(commands) -> None:
    command = commands.add_parser(
        "check-build",
        help="check every file of a built dataset against the sha256 recorded at build time",
    )
    command.add_argument(
        "--dataset", required=True, help="a built config, e.g. imagenet_pi/high_noise"
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir it was built in")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.set_defaults(run=_check_build)


def _relabel(args: argparse.Namespace) -> None:
    import json

    from imagenet_pi import annotations, custom_configs, relabelled_configs
    from imagenet_pi.annotations import origins

    features = None
    if args.annotator_features:
        features = annotations.read_annotator_features(args.annotator_features)
    relabelled_configs.relabel_config(
        args.predictions,
        args.out,
        args.beta,
        args.seed,
        splits=args.splits,
        models=args.models,
        from_logits=args.from_logits,
        annotator_features=features,
        accuracy_split=args.accuracy_split,
        chunk_size=args.chunk_size,
        num_workers=args.num_workers,
        progress=not args.no_progress,
    )
    out = os.path.abspath(args.out)
    print(f"Wrote {', '.join(args.splits)} labels and confidences to {out}.")
    if set(args.splits) != set(upstream.SPLITS):
        print(f"The builder needs every split {upstream.SPLITS}: relabel the others too.")
    try:
        # The name custom_config derives: beta, seed and the digest of what was written.
        name = custom_configs.custom_config(out).name
    except origins.AnnotationFilesError:
        return  # a split is missing: nothing to build yet
    config = json.dumps({"name": name, "beta": args.beta, "annotations_dir": out})
    print(
        f"Config name {name} (beta {args.beta:g}, seed {args.seed}, annotations sha256 "
        f"{name.rsplit('_', 1)[-1]}...). Build it:\n"
        f"  tfds build imagenet_pi --imports imagenet_pi --config '{config}' "
        "--manual_dir <ILSVRC2012 dir> [--data_dir D]\n"
        f"or in Python: tfds.builder('imagenet_pi', config=imagenet_pi.custom_config({out!r}))."
        f"\nLoad it: tfds.load('imagenet_pi/{name}', data_dir=D)."
    )


def _add_relabel_command(commands) -> None:
    from imagenet_pi import parallel_relabel

    command = commands.add_parser(
        "relabel",
        help="draw annotator labels at any beta from predictions; writes a config folder",
        description=(
            "Relabels predictions (written by `imagenet-pi predict`: <DIR>/<split>/"
            "file_names.txt and <Model>.npy) with T ~ Gamma(1, rate=beta) and writes "
            "labels/, confidences/, annotator_features.csv and relabel.json to --out."
        ),
    )
    command.add_argument("--predictions", required=True, help="folder of <split>/ predictions")
    command.add_argument(
        "--beta",
        required=True,
        type=_float_in(0, low_open=True),
        help="Gamma rate, > 0; E[T] = 1/beta (0.1 high_noise)",
    )
    command.add_argument("--seed", required=True, type=_int_in(0), help="random seed (int >= 0)")
    command.add_argument(
        "--out", required=True, type=_folder_to_write, help="the config folder to write"
    )
    command.add_argument(
        "--splits", nargs="+", default=list(upstream.SPLITS), choices=upstream.SPLITS
    )
    command.add_argument(
        "--from-logits", action="store_true", help="the .npy files hold logits, not probabilities"
    )
    command.add_argument(
        "--annotator-features",
        help="annotator_features.csv (or a config folder holding one) to copy instead of "
        "computing them from accuracy and parameter counts",
    )
    command.add_argument(
        "--accuracy-split",
        default="validation",
        choices=upstream.SPLITS,
        help="split whose clean_labels.npy measures each model's accuracy",
    )
    command.add_argument(
        "--models",
        nargs=upstream.NUM_ANNOTATORS,
        default=list(upstream.ANNOTATOR_MODELS),
        metavar="MODEL",
        help="the 16 <Model>.npy names, in column order (default: upstream's 16 models)",
    )
    command.add_argument(
        "--chunk-size",
        type=_int_in(1),
        default=parallel_relabel.DEFAULT_CHUNK_ROWS,
        help="rows relabelled at a time (>= 1)",
    )
    command.add_argument(
        "--num-workers", type=_int_in(1), default=None, help="processes (>= 1; default: all cores)"
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")
    command.set_defaults(run=_relabel)


def _predict(args: argparse.Namespace) -> None:
    import tensorflow_datasets as tfds

    from imagenet_pi import annotator_models, built_datasets

    tfds.disable_progress_bar()
    builder = built_datasets.open_built(args.dataset, args.data_dir)
    if args.split not in builder.info.splits:
        raise ValueError(
            f"{args.dataset}: expected a split in {sorted(builder.info.splits)}, "
            f"found {args.split!r}"
        )
    images = builder.as_dataset(
        split=args.split,
        shuffle_files=False,  # every model must see the images in the same order
        decoders={"image": tfds.decode.SkipDecoding()},  # decoded and cropped per model
    )
    out = os.path.join(args.out, args.split)
    options = {"batch_size": args.batch_size, "crop_fraction": args.crop_fraction}
    paths = annotator_models.predict_split(
        images,
        out,
        args.models,
        weights=None if args.weights == "none" else args.weights,
        input_size=args.input_size,
        progress=not args.no_progress,
        **{name: value for name, value in options.items() if value is not None},
    )
    print(f"Wrote predictions of {len(paths)} models over {args.dataset} {args.split} to {out}.")


def _add_predict_command(commands) -> None:
    command = commands.add_parser(
        "predict",
        help="run the keras.applications annotator models over a built split (resumable)",
        description=(
            "Writes <out>/<split>/file_names.txt, <Model>.npy (N, 1000) probabilities, "
            "clean_labels.npy and parameter_counts.json: the input of `imagenet-pi relabel`. "
            "Models already complete in the folder are skipped."
        ),
    )
    command.add_argument("--split", required=True, choices=upstream.SPLITS)
    command.add_argument(
        "--out",
        required=True,
        type=_folder_to_write,
        help="predictions folder; gets <out>/<split>/",
    )
    command.add_argument(
        "--dataset",
        default="imagenet2012",
        help="a built TFDS dataset with image and file_name: imagenet2012 or imagenet_pi/<config>",
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir it was built in")
    command.add_argument(
        "--models",
        nargs="+",
        default=list(upstream.ANNOTATOR_MODELS),
        choices=upstream.ANNOTATOR_MODELS,
        metavar="MODEL",
        help="keras.applications models (default: upstream's 16)",
    )
    command.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (Keras' ImageNet weights, downloaded into its cache ~/.keras/models "
        "before any model runs), 'none' (random), or a weights file",
    )
    # Defaults are annotator_models' own; importing it here would load Keras for every command.
    command.add_argument(
        "--batch-size", type=_int_in(1), help="images per model call (>= 1; default 32)"
    )
    command.add_argument(
        "--input-size",
        type=_int_in(32),
        help="one input side for every model (default: each model's own, 224 or 299); "
        "each chosen model must take it: >= 32, >= 75 for InceptionV3 and InceptionResNetV2, "
        ">= 71 for Xception, and with --weights imagenet only the sides of those weights "
        "(checked before any model runs)",
    )
    command.add_argument(
        "--crop-fraction",
        type=_float_in(0, 1, low_open=True),
        help="central crop of the shorter side, in (0, 1] (default 0.875)",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")
    command.set_defaults(run=_predict, check_flags=_check_input_size)


def _check_input_size(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits with a usage error if a chosen model does not take --input-size."""
    from imagenet_pi import annotator_model_specs  # no Keras: the check runs before TensorFlow

    try:
        annotator_model_specs.check_input_size(
            args.models, args.input_size, imagenet_weights=args.weights == "imagenet"
        )
    except ValueError as error:
        parser.error(f"argument --input-size: {error}")


def _stats(args: argparse.Namespace) -> None:
    import json

    from imagenet_pi import stats, stats_rendering

    if args.annotations:
        source = stats.from_annotations_dir(args.annotations, args.splits)
    else:
        source = stats.from_built_dataset(
            args.dataset, args.data_dir, args.splits, progress=not args.no_progress
        )
    result = stats.report(source, top_confusions=args.top)
    if args.out:
        written = stats_rendering.write_report(result, args.out)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(stats_rendering.format_text(result))
    if args.out:
        print(f"\nWrote {', '.join(os.path.basename(path) for path in written)} to {args.out}.")


def _add_stats_command(commands) -> None:
    from imagenet_pi import stats

    command = commands.add_parser(
        "stats",
        help="agreement, confidences, confusions and noise transitions of a config, with plots",
    )
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a built config, e.g. imagenet_pi/high_noise")
    source.add_argument(
        "--annotations", help="a config folder of PI CSVs (upstream layout), no build needed"
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir of --dataset")
    command.add_argument(
        "--splits", nargs="+", default=list(upstream.SPLITS), choices=upstream.SPLITS
    )
    command.add_argument(
        "--out", type=_folder_to_write, help="write report.md, report.json and PNG plots here"
    )
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--top",
        type=_int_in(0),
        default=stats.TOP_CONFUSIONS,
        help=f"confusions to list (>= 0; default {stats.TOP_CONFUSIONS})",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")
    command.set_defaults(run=_stats)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `imagenet-pi` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="imagenet-pi", description="ImageNet-PI for TensorFlow Datasets and JAX."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="build imagenet_pi from a synthetic sample and load it (no ImageNet needed)"
    )
    demo.add_argument(
        "--workdir",
        type=_folder_to_write,
        help="where to write the sample and the dataset (default: tmp)",
    )
    demo.add_argument("--config", default="high_noise", choices=sorted(upstream.NOISE_LEVELS))
    _add_sample_flags(demo, synsets=10, images=8, val=40, odd=1)  # shows the odd-image fix
    demo.set_defaults(run=_demo)

    fake = commands.add_parser(
        "fake-data", help="write synthetic ILSVRC2012 tars and ImageNet-PI CSVs (a manual_dir)"
    )
    fake.add_argument("--out", required=True, type=_folder_to_write, help="the manual_dir to write")
    fake.add_argument(
        "--configs",
        nargs="+",
        default=sorted(upstream.NOISE_LEVELS),
        choices=sorted(upstream.NOISE_LEVELS),
        help="configs to write PI CSVs for",
    )
    _add_sample_flags(fake, synsets=10, images=5, val=20)
    fake.set_defaults(run=_fake_data)
    _add_verify_command(commands)
    _add_check_build_command(commands)
    _add_relabel_command(commands)
    _add_predict_command(commands)
    _add_stats_command(commands)
    return parser


class _DropMessages(logging.Filter):
    """Drops log records whose message `pattern` finds (and keeps every other record)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


@contextlib.contextmanager
def _without_warnings_about(path: str) -> Iterator[None]:
    """Silences the archive checks' records about `path` (the demo's own sample), only."""
    filter_ = _DropMessages(re.compile(re.escape(path)))
    logger = logging.getLogger("imagenet_pi.ilsvrc.verification")
    logger.addFilter(filter_)
    try:
        yield
    finally:
        logger.removeFilter(filter_)


# What TFDS logs about itself whatever the data: a deprecation inside its own code
# (PartialDecoding reads FeatureConnector.dtype) and a decoder recommendation.
TFDS_CHATTER = re.compile(r"^`FeatureConnector\.dtype` is deprecated|^OpenCV is not installed")
_TFDS_CHATTER_FILTER = _DropMessages(TFDS_CHATTER)

# Lines TensorFlow's C++ start-up writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says (absl
# logs them before its logging is initialised): facts about the machine, not the data.
TENSORFLOW_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cuda_platform|cuda_dnn|cuda_fft|cuda_blas"
    r"|cpu_feature_guard)\.cc:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate"
)


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Holds back what anything (C++ included) writes to file descriptor 2 meanwhile, then
    writes it out without the lines `noise` matches."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not noise.match(line)))
            sys.stderr.flush()


def _uses_tensorflow(args: argparse.Namespace) -> bool:
    return args.command in ("demo", "predict", "check-build") or (
        args.command == "stats" and bool(getattr(args, "dataset", None))
    )


def _quiet_start_up(args: argparse.Namespace) -> None:
    """Keeps TensorFlow's start-up chatter out of the command's output.

    Runs before anything imports TensorFlow (TF_CPP_MIN_LOG_LEVEL is read at import);
    `import imagenet_pi` itself changes nothing. TF_CPP_MIN_LOG_LEVEL defaults to 2
    (TensorFlow's INFO and WARNING lines hidden, errors kept); a user who sets it to 0
    sees everything, start-up lines and TFDS's chatter included.
    """
    if "tensorflow" in sys.modules:  # called from Python after TensorFlow was loaded
        return
    if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2") == "0":
        return
    logging.getLogger("absl").addFilter(_TFDS_CHATTER_FILTER)  # once, however often called
    if _uses_tensorflow(args):
        with filtered_stderr(TENSORFLOW_START_UP_NOISE):
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, not mid-report


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, whose errors carry its usage line."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise KeyError(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `imagenet-pi` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "check_flags"):  # checks between flags, after each flag's own
        args.check_flags(_subparser(parser, args.command), args)
    _quiet_start_up(args)
    try:
        args.run(args)
    except (errors.ImagenetPiError, ValueError, FileNotFoundError) as error:
        # Bad input: the message says what to do; a traceback would bury it.
        print(f"imagenet-pi {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
