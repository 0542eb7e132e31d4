"""Damage done to a synthetic ILSVRC2012 sample, for the tests of what a build refuses."""

from __future__ import annotations

import io
import os
import tarfile

from imagenet_pi import fake_data, ilsvrc, upstream
from imagenet_pi.ilsvrc import tar_reader


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


def read_tars(manual_dir: str) -> None:
    """Reads every image of both tars, as a build does; raises what the build would."""
    layout = ilsvrc.TarLayout.in_dir(manual_dir)
    for split in upstream.SPLITS:
        for _ in ilsvrc.iter_split(layout, split):
            pass


def member_offsets(archive: str) -> dict[str, tar_reader.TarMember]:
    """Member name -> where its data lies in the tar `archive`."""
    return {member.name: member for member in tar_reader.index_tar(archive)}


def first_train_image(manual_dir: str) -> bytes:
    """The bytes of the first image of the first per-synset tar of the train tar."""
    train_tar = os.path.join(manual_dir, upstream.TRAIN_TAR)
    with open(train_tar, "rb") as f:
        outer = fake_data.tar_members(f.read())
    return fake_data.tar_members(outer[0][1])[0][1]
