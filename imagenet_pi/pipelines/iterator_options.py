"""`IteratorOptions`: everything about a `make_iterator` pipeline but the data and the batch
size, checked on construction."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from imagenet_pi import label_policies, pi_features, preprocessing
from imagenet_pi.pipelines import options as pipeline_options
from imagenet_pi.pipelines.options import GrainOptions, TfDataOptions


@dataclasses.dataclass(frozen=True)
class IteratorOptions:
    """Everything about a `make_iterator` pipeline but the data and the batch size.

    Pass one as `make_iterator(..., options=IteratorOptions(...))`, or its fields and
    its back end's options as keyword arguments (they override `options`). Every value
    is checked on construction: a bad one raises ValueError naming it.

    Attributes:
      backend: the back end and its own options: "tfdata" or `TfDataOptions(...)`
        (tf.data, reads TFRecord builds), "grain" or `GrainOptions(...)` (grain,
        array_record builds). A name stands for that back end's default options;
        `options.backend` is always the options object (`options.backend.name` is the
        name).
      image_size: side of the square output images.
      dtype: image dtype, a floating one: np.float32, jnp.bfloat16 / "bfloat16", ...
      normalise: "imagenet" (mean/std), "zero_one", "minus_one_one" or "none" (0..255).
      label_policy: "all", "subset", "random_annotator", "majority", "clean", or a
        `label_policies.LabelPolicy`.
      num_annotators_per_example: k for "subset" (1..16); only with "subset".
      annotator_strategy: "uniform", "best" or "worst"; other than "uniform" only with
        "subset".
      redraw_each_epoch: random policies ("subset" with "uniform", "random_annotator")
        draw annotators again each epoch (else each example keeps its draw for the
        whole run); only with those.
      annotator_labels_format: `pi_features["annotator_labels"]` as "one_hot"
        `(..., A, 1000)` or "index" `(..., A, 1)`.
      seed: seeds shuffling, augmentation and label policies; same seed, same batches.
      sharding: a `jax.sharding.Sharding` of the batch axis (e.g.
        `NamedSharding(mesh, P("data"))`): batches are then global `jax.Array` values.
        None: numpy arrays with a leading local-device axis.
      num_epochs: training epochs, an integer >= 1; None: forever (the one spelling:
        tf.data's -1 is refused, as grain refuses it).
      with_file_names: keep `file_name` `(..., ) bytes` in batches (host numpy).
      process_index, process_count: override `jax.process_index()` / `jax.process_count()`.
    """

    backend: str | TfDataOptions | GrainOptions = "tfdata"
    image_size: int = 224
    dtype: Any = np.float32
    normalise: str = "imagenet"
    label_policy: str | label_policies.LabelPolicy = "all"
    num_annotators_per_example: int | None = None
    annotator_strategy: label_policies.Strategy = "uniform"
    redraw_each_epoch: bool = False
    annotator_labels_format: pi_features.LabelsFormat = "one_hot"
    seed: int = 0
    sharding: Any = None  # jax.sharding.Sharding | None
    num_epochs: int | None = None
    with_file_names: bool = False
    process_index: int | None = None
    process_count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", pipeline_options.backend_options(self.backend))
        pipeline_options.check_int("image_size", self.image_size, 1)
        image_dtype(self.dtype)
        pipeline_options.check_choice("normalise", self.normalise, preprocessing.NORMALISATIONS)
        self._check_label_policy()
        pipeline_options.check_choice(
            "annotator_labels_format", self.annotator_labels_format, ("one_hot", "index")
        )
        pipeline_options.check_seed("seed", self.seed)
        if self.sharding is not None:
            import jax

            if not isinstance(self.sharding, jax.sharding.Sharding):
                raise ValueError(
                    f"sharding: expected None or a jax.sharding.Sharding, found {self.sharding!r}"
                )
        if self.num_epochs is not None:
            pipeline_options.check_int("num_epochs", self.num_epochs, 1)
        pipeline_options.check_bool("with_file_names", self.with_file_names)
        if self.process_count is not None:
            pipeline_options.check_int("process_count", self.process_count, 1)
        if self.process_index is not None:
            high = None if self.process_count is None else self.process_count - 1
            pipeline_options.check_int("process_index", self.process_index, 0, high)

    def _check_label_policy(self) -> None:
        """The label policy's options: valid, and none given that the policy ignores."""
        pipeline_options.check_bool("redraw_each_epoch", self.redraw_each_epoch)
        pipeline_options.check_choice(
            "annotator_strategy", self.annotator_strategy, ("uniform", "best", "worst")
        )
        policy = self.label_policy
        if isinstance(policy, str):
            pipeline_options.check_choice("label_policy", policy, label_policies.POLICY_NAMES)
        elif not callable(getattr(policy, "select", None)):
            raise ValueError(
                f"label_policy: expected one of {label_policies.POLICY_NAMES} or a "
                f"label_policies.LabelPolicy, found {policy!r}"
            )
        subset = policy == "subset"
        if subset and self.num_annotators_per_example is None:
            raise ValueError(
                "num_annotators_per_example: label_policy 'subset' needs it (k, 1..16), found None"
            )
        ignored = []
        if self.num_annotators_per_example is not None:
            if subset:
                pipeline_options.check_int(
                    "num_annotators_per_example", self.num_annotators_per_example, 1, 16
                )
            else:
                ignored.append(f"num_annotators_per_example={self.num_annotators_per_example}")
        if self.annotator_strategy != "uniform" and not subset:
            ignored.append(f"annotator_strategy={self.annotator_strategy!r}")
        draws = policy == "random_annotator" or (subset and self.annotator_strategy == "uniform")
        if self.redraw_each_epoch and not draws:
            ignored.append("redraw_each_epoch=True")
        if ignored:
            raise ValueError(
                f"label_policy={policy!r} would ignore {', '.join(ignored)}: drop it "
                "(num_annotators_per_example and annotator_strategy are for 'subset'; "
                "redraw_each_epoch for the random draws of 'subset' with 'uniform' and of "
                "'random_annotator'; a LabelPolicy object carries its own)."
            )


def with_overrides(base: IteratorOptions, overrides: dict[str, Any]) -> IteratorOptions:
    """`base` with the fields and back-end options `overrides` names replaced."""
    fields = {field.name for field in dataclasses.fields(IteratorOptions)}
    knobs = {
        knob
        for backend in pipeline_options.BACKENDS.values()
        for knob in pipeline_options.knob_fields(backend)
    }
    unknown = sorted(set(overrides) - fields - knobs)
    if unknown:
        raise TypeError(
            f"make_iterator got unexpected keyword arguments {unknown}; expected the fields of "
            f"IteratorOptions: {sorted(fields)}, or of the back end's options: "
            f"TfDataOptions {list(pipeline_options.knob_fields(TfDataOptions))}, GrainOptions "
            f"{list(pipeline_options.knob_fields(GrainOptions))}"
        )
    common = {key: value for key, value in overrides.items() if key in fields}
    backend = common.pop("backend", base.backend)
    if isinstance(backend, str) and backend == base.backend.name:
        backend = base.backend  # the same back end: keep its options
    backend = pipeline_options.backend_options(backend)
    backend_knobs = {key: value for key, value in overrides.items() if key in knobs}
    pipeline_options.refuse_other_backends_knobs(backend_knobs, backend)
    return dataclasses.replace(
        base, backend=dataclasses.replace(backend, **backend_knobs), **common
    )


def image_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype of images: a floating dtype, "bfloat16" included; else ValueError."""
    try:
        if isinstance(dtype, str) and dtype == "bfloat16":
            import ml_dtypes

            dtype = ml_dtypes.bfloat16
        numpy_dtype = np.dtype(dtype)
    except TypeError:
        numpy_dtype = None
    if numpy_dtype is None or not (
        np.issubdtype(numpy_dtype, np.floating) or numpy_dtype.name == "bfloat16"
    ):
        raise ValueError(
            "dtype: expected a floating dtype for the images (np.float32, 'bfloat16', "
            f"jnp.bfloat16, np.float16, ...), found {dtype!r}"
        )
    return numpy_dtype
