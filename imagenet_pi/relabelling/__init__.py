"""Annotator labels at any noise level: predict, relabel, write a config folder.

Images of a split -> `annotator_predictions` -> a predictions folder -> `relabelled_configs`
-> a config folder in the upstream layout, which builds as a custom config. One concern a
module:

- `annotator_predictions`: every model over a split, into a predictions folder
  (`imagenet-pi predict`), with `model_inputs` (images decoded, centre-cropped, resized,
  batched), `keras_models` (the `keras.applications` models and their ImageNet weights)
  and `annotator_model_specs` (their input sizes and weights files, without Keras).
- `predictions_folder`: the format of a predictions folder, checked as it is read.
- `relabelled_configs`: a predictions folder in, a config folder out (`imagenet-pi relabel`),
  with `parallel_sampling` (every annotator of a split, in chunks of rows, on all cores),
  `temperature_sampling` (the relabelling process of one annotator, numpy only),
  `annotator_feature_table` (annotator accuracy and log size, z-scored) and
  `relabel_metadata` (`relabel.json`, how a config folder was relabelled).
- `errors`: the error classes of these tools.

The public entry points are the top-level modules `imagenet_pi.relabel`,
`imagenet_pi.annotator_models` and `imagenet_pi.relabelled_configs`. Importing this package
imports none of its modules.
"""
