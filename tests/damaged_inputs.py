"""Damage done to a synthetic ILSVRC2012 sample, for the tests of what a build refuses."""

from __future__ import annotations

import io
import os
import tarfile

from imagenet_pi import fake_data, upstream


def edit_train_tar(manual_dir: str, edit) -> str:
    """Rewrites the train tar: `edit(synset tar name -> members)` changes the inner tars."""
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with open(train_tar, "rb") as f:
        outer = fake_data.tar_members(f.read())
    inner = {info.name: fake_data.tar_members(data) for info, data in outer}
    edit(inner)
    with open(train_tar, "wb") as f:
        f.write(
            fake_data.tar_bytes(
                [(info, fake_data.tar_bytes(inner[info.name])) for info, _ in outer]
            )
        )
    return train_tar


def replace_train_image(manual_dir: str, payload: bytes) -> tuple[str, str]:
    """Rewrites the train tar with its first synset's first image replaced by `payload`."""
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with tarfile.open(train_tar) as outer:
        members = [(m, outer.extractfile(m).read()) for m in outer]
    synset_member, synset_bytes = members[0]
    with tarfile.open(fileobj=io.BytesIO(synset_bytes)) as inner:
        images = [(m, inner.extractfile(m).read()) for m in inner]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as inner:
        for k, (info, data) in enumerate(images):
            data = payload if k == 0 else data
            info.size = len(data)
            inner.addfile(info, io.BytesIO(data))
    members[0] = (synset_member, buffer.getvalue())
    with tarfile.open(train_tar, "w") as outer:
        for info, data in members:
            info.size = len(data)
            outer.addfile(info, io.BytesIO(data))
    return synset_member.name, images[0][0].name
