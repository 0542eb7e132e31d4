"""The back ends of `imagenet_pi.input_pipeline`, one module each.

Each reads this process's part of a split and gives raw batches (`raw`): `tfdata`
(tf.data over TFRecord), `grain_threads` (grain reads, one tf.data pipeline decodes),
`grain_workers` (grain worker processes read and decode), the last two over the same
`grain_source` and with one lifecycle of step, state, close and restart
(`grain_stream`). Each back end has its own checked options (`options`). Labels, PI and
devices are the entry point's, for all of them.
"""
