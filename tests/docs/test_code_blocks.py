"""Every ```python / ```sh block of every page (README.md, CONTRIBUTING.md, docs/**/*.md)
is run by a test or marked and checked.

The convention (CONTRIBUTING.md, "The doc tests"): the line right above a code block is one of

    <!-- run -->               run here, in a sandbox holding a synthetic build
    <!-- test: NAME -->        run by a dedicated test whose file names NAME
    <!-- not run: REASON -->   compiled; imagenet_pi names, `imagenet-pi` / `tfds build`
                               flags and pip extras checked against the code

A block with no marker fails `test_every_code_block_is_run_or_marked`, so a block added
later cannot go unchecked. Each block is a Sybil example (tests/doc_pages.py); this file
gives the evaluators of `run` and `not run` blocks.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys

import doc_pages
import pytest
import tensorflow_datasets as tfds

import imagenet_pi  # noqa: F401  (registers the builder)
from imagenet_pi import cli, fake_data, internals

_ROOT = str(doc_pages.ROOT)
_TESTS = os.path.join(_ROOT, "tests")
_BLOCKS = doc_pages.code_blocks()
_TIMEOUT = 600  # seconds a block may take (a few on an idle machine)


# ----------------------------------------------------------------------------------------
# Every block is accounted for.


def _strings_in_tests() -> set[str]:
    """Every string constant of tests/**/test_*.py but this file."""
    strings = set()
    for path in sorted(doc_pages.ROOT.joinpath("tests").rglob("test_*.py")):
        if path.resolve() == pathlib.Path(__file__).resolve():
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        strings.update(
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        )
    return strings


def test_every_code_block_is_run_or_marked():
    assert _BLOCKS, "found no ```python or ```sh block in the pages"
    assert {block.page for block in _BLOCKS} >= {"README.md", "docs/jax.md", "docs/building.md"}
    strings = _strings_in_tests()
    problems = []
    for block in _BLOCKS:
        if block.kind is None:
            problems.append(
                f"{block.label} has no marker line right above it: put `<!-- run -->` there "
                "(run by tests/docs/test_code_blocks.py in its sandbox), `<!-- test: NAME -->` "
                "(run by a test of yours that names NAME), or `<!-- not run: REASON -->`"
            )
        elif block.kind == "test" and not any(
            s == block.name or f"<!-- test: {block.name} -->" in s for s in strings
        ):
            problems.append(
                f"{block.label} is marked `test: {block.name}` but no tests/**/test_*.py file "
                f"names {block.name!r}: write that test, or mark the block `<!-- run -->`"
            )
        elif block.kind == "not run" and len(block.reason) < 10:
            problems.append(f"{block.label}: say why it is not run (`<!-- not run: REASON -->`)")
    assert not problems, "\n".join(problems)


def test_marker_parsing_sees_unmarked_and_marked_blocks():
    text = (
        "intro\n\n```python\nx = 1\n```\n\n<!-- not run: needs the real ILSVRC2012 -->\n"
        "```sh\nls\n```\n<!-- test: my-test -->\n```bash\nls\n```\n<!-- run -->\n"
        "```python\ny = 2\n```\n```\nplain text\n```\n"
    )
    found = doc_pages.blocks_of_text(text)
    assert [(b.line, b.language, b.kind) for b in found] == [
        (3, "python", None),
        (8, "sh", "not run"),
        (12, "bash", "test"),
        (16, "python", "run"),
    ]
    assert found[1].reason == "needs the real ILSVRC2012"
    assert found[2].name == "my-test"
    assert found[3].code == "y = 2\n"


# ----------------------------------------------------------------------------------------
# `<!-- run -->` blocks run in a sandbox.


# The sandbox's sample: more than 50 train images, so that `split="train[:1%]"` holds one.
_SANDBOX_SAMPLE = dict(num_synsets=10, images_per_synset=6, num_validation=10, image_size=32)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict:
    """What a run block finds: a HOME, placeholders and environment variables.

    - `<manual_dir>`, `$MANUAL_DIR`, `~/imagenet`, `~/ilsvrc`: a synthetic manual_dir (both
      ILSVRC2012 tars, PI CSVs of both configs);
    - `<clone>`: its ImageNet-PI CSVs, laid out as a clone of the upstream repository;
    - `~/tensorflow_datasets` (TFDS's default data_dir; also `~/tfds`, `<data_dir>` and
      `$DATA_DIR`): `imagenet_pi/high_noise` built from it, and a TFDS-prepared
      `imagenet2012` of the same images;
    - `<data_dir_ar>`: `imagenet_pi/high_noise` built as array_record.
    """
    root = tmp_path_factory.mktemp("docs_sandbox")
    manual_dir = str(root / "manual")
    sample = fake_data.write_sample(manual_dir, **_SANDBOX_SAMPLE)
    home = root / "home"
    data_dir = home / "tensorflow_datasets"
    data_dir_ar = str(root / "data_dir_ar")
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    for directory, file_format in ((str(data_dir), "tfrecord"), (data_dir_ar, "array_record")):
        builder = tfds.builder(
            "imagenet_pi/high_noise", data_dir=directory, file_format=file_format
        )
        builder.download_and_prepare(download_config=download_config)
    prepared = os.path.dirname(fake_data.prepare_imagenet2012(sample, root / "prepared"))
    (data_dir / "imagenet2012").symlink_to(prepared)
    (home / "tfds").symlink_to(data_dir)
    for name in ("imagenet", "ilsvrc"):
        (home / name).symlink_to(manual_dir)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TFDS_", "PYTEST_")) and key not in ("DATA_DIR", "MANUAL_DIR")
    }
    env.update(
        HOME=str(home),
        DATA_DIR=str(data_dir),
        MANUAL_DIR=manual_dir,
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=_ROOT + os.pathsep + env.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
    )
    placeholders = {
        "<manual_dir>": manual_dir,
        "<data_dir>": str(data_dir),
        "<data_dir_ar>": data_dir_ar,
        "<clone>": os.path.join(manual_dir, "imagenet_pi"),
    }
    return {"env": env, "placeholders": placeholders}


def _fill_placeholders(code: str, placeholders: dict[str, str]) -> str:
    for placeholder, value in placeholders.items():
        code = code.replace(placeholder, value)
    left = re.findall(r"<[a-z_]+>", code)
    assert not left, f"placeholders {left} have no value in the sandbox: add them to `sandbox`"
    return code


def _run_in_sandbox(example) -> None:
    """The evaluator of `<!-- run -->` blocks: the block as a script in the sandbox."""
    block: doc_pages.Block = example.parsed
    sandbox, tmp_path = example.namespace["sandbox"], example.namespace["tmp_path"]
    code = _fill_placeholders(block.code, sandbox["placeholders"])
    if block.is_python:
        script, command = tmp_path / "block.py", [sys.executable, "block.py"]
    else:
        script, command = tmp_path / "block.sh", ["bash", "-euo", "pipefail", "block.sh"]
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=sandbox["env"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
    )
    assert result.returncode == 0, (
        f"{block.label} failed (exit status {result.returncode}) in a sandbox with the "
        f"small synthetic sample:\n{code}\n--- stdout (end):\n{result.stdout[-3000:]}\n"
        f"--- stderr (end):\n{result.stderr[-5000:]}"
    )


# ----------------------------------------------------------------------------------------
# `<!-- not run: ... -->` blocks: syntax, names and flags.


def _imagenet_pi_problems(code: str) -> list[str]:
    """Names of imagenet_pi the code uses that do not exist, or calls that do not bind."""
    tree = ast.parse(code)
    bound: dict[str, object] = {}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "imagenet_pi":
                    continue
                try:
                    module = importlib.import_module(alias.name)
                except ImportError as error:
                    problems.append(f"import {alias.name}: {error}")
                    continue
                if alias.asname:
                    bound[alias.asname] = module
                else:
                    bound["imagenet_pi"] = importlib.import_module("imagenet_pi")
        elif (
            isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "imagenet_pi"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                try:
                    value = getattr(module, alias.name)
                except AttributeError:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        problems.append(f"from {node.module} import {alias.name}: no such name")
                        continue
                bound[alias.asname or alias.name] = value

    def resolve(expr: ast.expr) -> tuple[str, object] | None:
        if isinstance(expr, ast.Name) and expr.id in bound:
            return expr.id, bound[expr.id]
        if isinstance(expr, ast.Attribute):
            inner = resolve(expr.value)
            if inner is None:
                return None
            dotted, value = inner
            if not hasattr(value, expr.attr):
                problems.append(f"{dotted}.{expr.attr}: {dotted} has no attribute {expr.attr!r}")
                bound_nothing = None
                return bound_nothing
            return f"{dotted}.{expr.attr}", getattr(value, expr.attr)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Attribute):
            resolve(node)
        if isinstance(node, ast.Call):
            target = resolve(node.func)
            if target is None or not callable(target[1]):
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                continue
            try:
                signature = inspect.signature(target[1])
            except (TypeError, ValueError):
                continue
            try:
                signature.bind(*node.args, **{k.arg: k.value for k in node.keywords})
            except TypeError as error:
                problems.append(f"{target[0]}(...): {error} (signature {signature})")
    return sorted(set(problems))


# `<manual_dir>`, `<data_dir>`, ...: a word for the user to fill in (not a redirection).
_PLACEHOLDER = re.compile(r"<([A-Za-z][\w.-]*)>")


def _shell_commands(code: str) -> list[list[str]]:
    """The simple commands of a shell block, as argv lists; `<placeholder>` kept as a word."""
    text = code.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = _PLACEHOLDER.sub(r"PLACEHOLDER_\1", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        argv: list[str] = []
        skip_next = False
        for token in lexer:
            if skip_next:
                skip_next = False
            elif token in ("&&", "||", ";", "|", "&"):
                commands.append(argv)
                argv = []
            elif token in (">", ">>", "<", "2>", "&>"):
                skip_next = True
            elif not argv and re.match(r"^[A-Za-z_]\w*=", token):
                continue  # VAR=value before a command
            else:
                argv.append(token)
        commands.append(argv)
    return [argv for argv in commands if argv]


def _setup_extras() -> set[str]:
    with open(os.path.join(_ROOT, "setup.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extras_require":
            return {key.value for key in node.value.keys}
    raise AssertionError("setup.py has no extras_require")


def _parse_error(parse, argv: list[str]) -> str | None:
    """What an argparse-based parser says about argv, or None if it accepts it."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parse(argv)
    except SystemExit as error:
        if error.code not in (0, None):
            return stderr.getvalue().strip().splitlines()[-1]
    return None


def _imagenet_pi_parser() -> argparse.ArgumentParser:
    """`imagenet-pi`'s parser, taking flags only as spelled in full (as the README should)."""
    parser = cli.build_parser()
    parsers = [parser, *internals.subcommand_parsers(parser).values()]
    for each in parsers:
        each.allow_abbrev = False
    return parser


def _tfds_parse(argv: list[str]) -> None:
    from tensorflow_datasets.scripts.cli import main as tfds_main

    tfds_main._parse_flags(["tfds", *argv])


def _command_problems(argv: list[str]) -> list[str]:
    program, args = argv[0], argv[1:]
    shown = " ".join(argv)
    if program == "imagenet-pi":
        error = _parse_error(_imagenet_pi_parser().parse_args, args)
        return [f"`{shown}`: imagenet-pi says: {error}"] if error else []
    if program == "tfds" and args[:1] == ["build"]:
        error = _parse_error(_tfds_parse, args)
        return [f"`{shown}`: tfds build says: {error}"] if error else []
    if program in ("pip", "pip3") and args[:1] == ["install"]:
        problems = []
        for target in args[1:]:
            extras = re.match(r"^\.\[([\w,-]+)\]$", target)
            missing = set(extras.group(1).split(",")) - _setup_extras() if extras else set()
            if missing:
                problems.append(f"`{shown}`: setup.py has no extras {sorted(missing)}")
        return problems
    return []


def _check_names_and_flags(example) -> None:
    """The evaluator of `<!-- not run: ... -->` blocks: syntax, names, flags and extras."""
    block: doc_pages.Block = example.parsed
    if block.is_python:
        tree = compile(block.code, block.label, "exec", ast.PyCF_ONLY_AST)
        assert tree.body, f"{block.label} is empty"
        problems = _imagenet_pi_problems(block.code)
    else:
        commands = _shell_commands(block.code)
        assert commands, f"{block.label} holds no command"
        code = _PLACEHOLDER.sub(r"PLACEHOLDER_\1", block.code)
        bash = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True)
        problems = [f"bash -n: {bash.stderr.strip()}"] if bash.returncode else []
        for argv in commands:
            problems += _command_problems(argv)
    assert not problems, f"{block.label} (not run: {block.reason}):\n" + "\n".join(problems)


def test_static_check_parses_imagenet_pi_commands_with_the_real_parser():
    assert _command_problems(["imagenet-pi", "stats", "--annotation", "x"])
    assert not _command_problems(["imagenet-pi", "stats", "--annotations", "PLACEHOLDER_clone"])


@pytest.mark.slow
def test_static_check_parses_tfds_build_commands_with_tfds_own_flags():
    assert _command_problems(["tfds", "build", "imagenet_pi", "--manual-dir", "x"])
    assert not _command_problems(["tfds", "build", "imagenet_pi", "--manual_dir", "x"])


def test_static_check_needs_pip_extras_declared_in_setup_py():
    assert _command_problems(["pip", "install", ".[nope]"])
    assert not _command_problems(["pip", "install", ".[jax]"])


def test_static_check_needs_imagenet_pi_names_that_exist():
    assert _imagenet_pi_problems("from imagenet_pi import relabel\nrelabel.no_such_function()")


def test_static_check_needs_calls_that_match_the_signatures():
    assert _imagenet_pi_problems("import imagenet_pi\nimagenet_pi.custom_config('x', nope=1)")
    assert not _imagenet_pi_problems("import imagenet_pi\nimagenet_pi.custom_config('x')")


def test_static_check_splits_shell_commands_and_fills_placeholders():
    assert _shell_commands('A=1 tfds build x \\\n  --y "a b" > out.json && ls <dir>') == [
        ["tfds", "build", "x", "--y", "a b"],
        ["ls", "PLACEHOLDER_dir"],
    ]


# ----------------------------------------------------------------------------------------
# The blocks as Sybil examples, each with the evaluator of its marker.

_EVALUATORS = {"run": _run_in_sandbox, "not run": _check_names_and_flags}
_EXAMPLES = [
    example for page in doc_pages.pages() for example in doc_pages.examples(page, _EVALUATORS)
]


def _param(example):
    block = example.parsed
    # Parsing a `tfds build` command imports TFDS's command line, which imports TensorFlow.
    slow = block.kind == "run" or (block.is_shell and "tfds build" in block.code)
    return pytest.param(example, marks=pytest.mark.slow if slow else (), id=block.id)


@pytest.mark.parametrize("example", [_param(e) for e in _EXAMPLES if e.parsed.kind == "run"])
def test_run_block_runs(example, sandbox, tmp_path):
    example.namespace.update(sandbox=sandbox, tmp_path=tmp_path)
    example.evaluate()


@pytest.mark.parametrize("example", [_param(e) for e in _EXAMPLES if e.parsed.kind == "not run"])
def test_not_run_block_names_and_flags_exist(example):
    example.evaluate()


def test_every_run_and_not_run_block_has_an_evaluator():
    kinds = {e.parsed.kind: e.region.evaluator for e in _EXAMPLES}
    assert kinds["run"] is _run_in_sandbox and kinds["not run"] is _check_names_and_flags
    assert len(_EXAMPLES) == len(_BLOCKS)
