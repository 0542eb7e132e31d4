"""Validated arrays -> examples -> shards: how the builder writes a split.

Without Beam, `parallel_build` reads the parts of ILSVRC2012 on `worker_pool` processes,
joins each image with its annotation row (`join`), spills the examples by their place in
TFDS's order (`spill`) and writes the shards (`record_files`); on Beam, `on_beam` does the
join on Beam's workers. Beside the shards, `example_index` writes the clean label of
every index. `build_lock` keeps two builds of a config version from running at once.
"""
