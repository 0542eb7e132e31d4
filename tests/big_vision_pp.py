"""The few big_vision preprocessing ops the README's big_vision config uses, for tests.

big_vision is not on PyPI, so its pp mini-language and ops are written again here after
their documented semantics (big_vision/pp/builder.py, registry.py, ops_general.py,
ops_image.py): a pipeline is `op|op(args)|...`, each op a Python call with literal
arguments, applied in turn to a dict of tensors. Image ops read and write `key` (or
`inkey`/`outkey`), "image" by default.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

import tensorflow as tf

Op = Callable[[dict], dict]


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _on_image(make: Callable[..., Callable[[tf.Tensor], tf.Tensor]]) -> Callable[..., Op]:
    """An op applied to one entry: `key`, or `inkey` -> `outkey` (both "image" by default)."""

    @functools.wraps(make)
    def make_op(*args, key=None, inkey="image", outkey="image", **kwargs) -> Op:
        function = make(*args, **kwargs)

        def op(data: dict) -> dict:
            data[key or outkey] = function(data[key or inkey])
            return data

        return op

    return make_op


@_on_image
def decode(channels=3, precise=False):
    if precise:
        return lambda image: tf.image.decode_jpeg(
            image, channels=channels, dct_method="INTEGER_ACCURATE"
        )
    return lambda image: tf.io.decode_image(image, channels=channels, expand_animations=False)


def _resize_to(image: tf.Tensor, size, method: str, antialias: bool) -> tf.Tensor:
    """Resized, then clipped to and cast back to the input's dtype."""
    resized = tf.image.resize(image, size, method=method, antialias=antialias)
    return tf.cast(tf.clip_by_value(resized, image.dtype.min, image.dtype.max), image.dtype)


@_on_image
def resize(size, method="bilinear", antialias=False):
    return lambda image: _resize_to(image, _pair(size), method, antialias)


@_on_image
def resize_small(smaller_size, method="area", antialias=False):
    def _resize_small(image):
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        factor = tf.cast(smaller_size, tf.float32) / tf.cast(tf.minimum(height, width), tf.float32)
        new_height = tf.cast(tf.round(tf.cast(height, tf.float32) * factor), tf.int32)
        new_width = tf.cast(tf.round(tf.cast(width, tf.float32) * factor), tf.int32)
        return _resize_to(image, (new_height, new_width), method, antialias)

    return _resize_small


@_on_image
def central_crop(crop_size=None):
    def _central_crop(image):
        if crop_size:
            height, width = _pair(crop_size)
        else:
            height = width = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        top = (tf.shape(image)[0] - height) // 2
        left = (tf.shape(image)[1] - width) // 2
        return tf.image.crop_to_bounding_box(image, top, left, height, width)

    return _central_crop


@_on_image
def decode_jpeg_and_inception_crop(
    size=None,
    area_min=5,
    area_max=100,
    ratio_min=0.75,
    ratio_max=1.33,
    method="bilinear",
    antialias=False,
):
    def _crop(jpeg):
        begin, crop_size, _ = tf.image.sample_distorted_bounding_box(
            tf.image.extract_jpeg_shape(jpeg),
            tf.zeros([0, 0, 4], tf.float32),
            area_range=(area_min / 100, area_max / 100),
            aspect_ratio_range=(ratio_min, ratio_max),
            min_object_covered=0,
            use_image_if_no_bounding_boxes=True,
        )
        window = tf.stack([begin[0], begin[1], crop_size[0], crop_size[1]])
        image = tf.image.decode_and_crop_jpeg(jpeg, window, channels=3)
        return _resize_to(image, _pair(size), method, antialias) if size else image

    return _crop


@_on_image
def flip_lr():
    return tf.image.random_flip_left_right


@_on_image
def value_range(vmin=-1, vmax=1, in_min=0, in_max=255.0, clip_values=False):
    def _value_range(image):
        low, high = tf.constant(in_min, tf.float32), tf.constant(in_max, tf.float32)
        scaled = vmin + (tf.cast(image, tf.float32) - low) / (high - low) * (vmax - vmin)
        return tf.clip_by_value(scaled, vmin, vmax) if clip_values else scaled

    return _value_range


def onehot(depth, key="labels", key_result=None, multi=True, on=1.0, off=0.0) -> Op:
    """One-hot `data[key]`; several labels with `multi` merge into one multi-hot vector."""

    def op(data: dict) -> dict:
        labels = tf.cast(data[key], tf.int64)
        if labels.shape.rank > 0 and multi:
            hits = tf.scatter_nd(labels[:, None], tf.ones(tf.shape(labels)[0]), (depth,))
            encoded = tf.clip_by_value(hits, 0, 1) * (on - off) + off
        else:
            encoded = tf.one_hot(labels, depth, on_value=on, off_value=off)
        data[key_result or key] = encoded
        return data

    return op


def keep(*keys) -> Op:
    return lambda data: {name: value for name, value in data.items() if name in keys}


def choice(n="single", key=None, fewer_ok=False, inkey=None, outkey=None) -> Op:
    """Only what the README uses: one random entry (n="single") of one key."""
    if n != "single" or isinstance(inkey or key, (list, tuple)):
        raise NotImplementedError("only choice of one entry of one key is written here")
    source, target = inkey or key, (outkey or key).format(key=inkey or key)

    def op(data: dict) -> dict:
        index = tf.random.uniform([], 0, tf.shape(data[source])[0], dtype=tf.int32)
        data[target] = data[source][index]
        return data

    return op


OPS = {
    function.__name__: function
    for function in (
        decode,
        resize,
        resize_small,
        central_crop,
        decode_jpeg_and_inception_crop,
        flip_lr,
        value_range,
        onehot,
        keep,
        choice,
    )
}


def parse_op(spec: str) -> tuple[str, tuple, dict]:
    """`'onehot(1000, key="label")'` -> `('onehot', (1000,), {'key': 'label'})`."""
    expression = ast.parse(spec, mode="eval").body
    if isinstance(expression, ast.Name):
        return expression.id, (), {}
    if not isinstance(expression, ast.Call) or not isinstance(expression.func, ast.Name):
        raise ValueError(f"{spec!r} is not an op name or an op call")
    args = tuple(ast.literal_eval(arg) for arg in expression.args)
    kwargs = {keyword.arg: ast.literal_eval(keyword.value) for keyword in expression.keywords}
    return expression.func.id, args, kwargs


def preprocess_fn(pipeline: str) -> Op:
    """The function a pp string stands for: its ops applied in turn to a dict."""
    ops = []
    for spec in pipeline.split("|"):
        if spec:
            name, args, kwargs = parse_op(spec)
            ops.append(OPS[name](*args, **kwargs))

    def apply(data: dict) -> dict:
        for op in ops:
            data = op(data)
        return data

    return apply
