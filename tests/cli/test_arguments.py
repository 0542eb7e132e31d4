"""Every numeric and folder flag of `imagenet-pi` is checked by argparse, in one usage line."""

from __future__ import annotations

import argparse

import pytest

from imagenet_pi import cli, internals

_RELABEL = ["relabel", "--predictions", "p", "--out", "o", "--beta", "0.1", "--seed", "1"]
_PREDICT = ["predict", "--split", "train", "--out", "o"]
_STATS = ["stats", "--annotations", "a"]

# (command line, flag, the valid range the message states)
_BAD = [
    (["fake-data", "--out", "o", "--synsets", "0"], "--synsets", "an integer in 1..1000"),
    (["fake-data", "--out", "o", "--synsets", "1001"], "--synsets", "an integer in 1..1000"),
    (
        ["fake-data", "--out", "o", "--images-per-synset", "0"],
        "--images-per-synset",
        "an integer in 1..20000",
    ),
    (
        ["fake-data", "--out", "o", "--images-per-synset", "-3"],
        "--images-per-synset",
        "an integer in 1..20000",
    ),
    (["fake-data", "--out", "o", "--validation", "-1"], "--validation", "an integer in 1..50000"),
    (["fake-data", "--out", "o", "--validation", "0"], "--validation", "an integer in 1..50000"),
    (
        ["fake-data", "--out", "o", "--validation", "50001"],
        "--validation",
        "an integer in 1..50000",
    ),
    (["fake-data", "--out", "o", "--image-size", "0"], "--image-size", "an integer in 2..4096"),
    (["fake-data", "--out", "o", "--image-size", "1"], "--image-size", "an integer in 2..4096"),
    (["fake-data", "--out", "o", "--image-size", "-5"], "--image-size", "an integer in 2..4096"),
    (["fake-data", "--out", "o", "--image-size", "2.5"], "--image-size", "an integer in 2..4096"),
    (["fake-data", "--out", "o", "--cmyk", "-1"], "--cmyk", "an integer >= 0"),
    (["fake-data", "--out", "o", "--png", "-1"], "--png", "an integer >= 0"),
    (["fake-data", "--out", "o", "--seed", "-1"], "--seed", "an integer >= 0"),
    (["demo", "--synsets", "0"], "--synsets", "an integer in 1..1000"),
    (["demo", "--image-size", "1"], "--image-size", "an integer in 2..4096"),
    ([*_RELABEL, "--beta", "0"], "--beta", "a finite number > 0"),
    ([*_RELABEL, "--beta", "-0.1"], "--beta", "a finite number > 0"),
    ([*_RELABEL, "--beta", "inf"], "--beta", "a finite number > 0"),
    ([*_RELABEL, "--beta", "nan"], "--beta", "a finite number > 0"),
    ([*_RELABEL, "--seed", "-1"], "--seed", "an integer >= 0"),
    ([*_RELABEL, "--chunk-size", "0"], "--chunk-size", "an integer >= 1"),
    ([*_RELABEL, "--num-workers", "0"], "--num-workers", "an integer >= 1"),
    ([*_PREDICT, "--batch-size", "0"], "--batch-size", "an integer >= 1"),
    ([*_PREDICT, "--input-size", "8"], "--input-size", "an integer >= 32"),
    ([*_PREDICT, "--crop-fraction", "0"], "--crop-fraction", "a number in (0, 1]"),
    ([*_PREDICT, "--crop-fraction", "1.5"], "--crop-fraction", "a number in (0, 1]"),
    ([*_STATS, "--top", "-1"], "--top", "an integer >= 0"),
    ([*_STATS, "--top", "x"], "--top", "an integer >= 0"),
]


@pytest.mark.parametrize("argv, flag, valid", _BAD, ids=[" ".join(a[0][-3:]) for a in _BAD])
def test_out_of_range_flag_is_a_one_line_usage_error_naming_flag_and_range(
    argv, flag, valid, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # were a flag accepted, the command would write here
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"imagenet-pi {argv[0]}: error: argument {flag}")
    assert f"expected {valid}" in error
    value = argv[len(argv) - 1 - argv[::-1].index(flag) + 1]  # the flag's last value
    assert error.endswith(f"found '{value}'")


@pytest.mark.parametrize(
    "argv",
    [
        ["fake-data", "--out", "{file}"],
        ["demo", "--workdir", "{file}"],
        [*_RELABEL[:3], "--out", "{file}", *_RELABEL[5:]],
        ["predict", "--split", "train", "--out", "{file}"],
        [*_STATS, "--out", "{file}"],
    ],
    ids=lambda argv: argv[0],
)
def test_an_existing_file_as_output_folder_is_a_usage_error(argv, tmp_path, capsys):
    existing = tmp_path / "a_file"
    existing.write_text("")
    argv = [arg.format(file=existing) for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: argument --" in error
    assert (
        f"expected a folder to write into (or a path to create one at), found a file: {existing}"
        in error
    )


def test_values_at_the_edges_of_the_ranges_are_accepted():
    parser = cli.build_parser()
    args = parser.parse_args(
        ["fake-data", "--out", "o", "--synsets", "1000", "--images-per-synset", "1",
         "--validation", "50000", "--image-size", "2", "--cmyk", "0", "--seed", "0"]
    )  # fmt: skip
    assert (args.synsets, args.images_per_synset, args.validation, args.image_size) == (
        1000, 1, 50000, 2,
    )  # fmt: skip
    assert parser.parse_args([*_PREDICT, "--crop-fraction", "1"]).crop_fraction == 1.0
    assert parser.parse_args([*_STATS, "--top", "0"]).top == 0


def _typed_actions(parser: argparse.ArgumentParser):
    for name, subparser in internals.subcommand_parsers(parser).items():
        for sub_name, sub_action in _typed_actions(subparser):
            yield f"{name} {sub_name}", sub_action
    for action in internals.parser_actions(parser):
        if action.option_strings:
            yield "/".join(action.option_strings), action


def test_no_flag_takes_any_int_or_float():
    unchecked = [
        name for name, action in _typed_actions(cli.build_parser()) if action.type in (int, float)
    ]
    assert unchecked == []


@pytest.mark.parametrize(
    "argv, found",
    [
        (["demo", "--png", "999"], "1000"),  # demo's --cmyk defaults to 1
        (["demo", "--cmyk", "40", "--png", "1"], "41"),
        (["fake-data", "--out", "o", "--validation", "2", "--cmyk", "2", "--png", "1"], "3"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_more_odd_images_than_the_smaller_split_is_a_usage_error(
    argv, found, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # were the flags accepted, the command would write here
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"imagenet-pi {argv[0]}: error: argument --cmyk/--png: expected")
    assert error.endswith(f"found {found}")
    assert list(tmp_path.iterdir()) == []
