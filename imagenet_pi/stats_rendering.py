"""Renders a `stats.report(...)` dict: terminal text, PNG plots, `report.md`, `report.json`.

Works on the JSON-able report only, never on the label arrays. Plots are drawn on their own
matplotlib Figure and Agg canvas, without pyplot: a notebook's backend stays as it was.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _short_name(entry: Mapping[str, Any]) -> str:
    """`n01440764 (tench)`: the synset and the first of its names."""
    name = entry.get("name")
    return f"{entry['synset']} ({name.split(',')[0]})" if name else entry["synset"]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def format_text(result: Mapping[str, Any]) -> str:
    """A terminal-sized reading of `stats.report(...)`."""
    expected = result["expected_agreement"]
    beta = result["beta"]
    lines = [
        f"ImageNet-PI {result['config'] or '(unnamed config)'}"
        + (f", beta = {beta:g}" if beta is not None else "")
        + f"  [{result['source']}]"
    ]
    for split, stats in result["splits"].items():
        confidence = stats["confidence"]
        transitions = stats["transitions"]
        lines += [
            "",
            f"{split}: {stats['num_examples']:,} examples x {stats['num_annotators']} annotators",
            f"  agreement with the clean label  {_percent(stats['agreement'])}"
            + (
                f"   (published: {_percent(expected)})"
                if expected is not None
                else "   (no published figure for this config)"
            ),
            f"  majority vote agreement         {_percent(stats['majority_vote_agreement'])}",
            "  per annotator                   "
            + " ".join(f"{value:.0%}" for value in stats["per_annotator_agreement"]),
            f"  mean confidence                 correct {_percent(confidence['mean_correct'])},"
            f" wrong {_percent(confidence['mean_wrong'])}",
            f"  noise transitions               {transitions['num_clean_classes']} clean classes;"
            f" row entropy {transitions['row_entropy_bits_mean']:.2f} of "
            f"{transitions['row_entropy_bits_max']:.2f} bits; top-"
            f"{transitions['top_wrong_labels_k']} wrong labels take "
            f"{_percent(transitions['top_wrong_labels_share_mean'])} of a class's noise",
            f"  class agreement                 min {_percent(transitions['class_agreement_min'])},"
            f" median {_percent(transitions['class_agreement_median'])},"
            f" max {_percent(transitions['class_agreement_max'])}",
            "  most frequent confusions (clean -> annotator label):",
        ]
        for confusion in transitions["top_confusions"]:
            lines.append(
                f"    {confusion['count']:>9,}  {_short_name(confusion['clean'])} -> "
                f"{_short_name(confusion['label'])}  "
                f"({confusion['share_of_clean_class']:.1%} of the class's labels)"
            )
    if not result["class_names_available"]:
        lines += ["", "(class names unavailable in this TFDS version: synset ids only)"]
    return "\n".join(lines)


def write_plots(result: Mapping[str, Any], out_dir: str | os.PathLike) -> list[pathlib.Path]:
    """PNGs of the report: agreement per annotator, confidence histograms, confusion heat map.

    Returns:
      The paths written, one of each kind per split.
    """
    # Figures on their own Agg canvas: no pyplot, so a notebook's backend and figures stay
    # as they were.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, stats in result["splits"].items():
        for kind, draw in (
            ("agreement", _plot_agreement),
            ("confidence", _plot_confidence),
            ("confusions", _plot_confusions),
        ):
            figure = Figure()
            FigureCanvasAgg(figure)
            draw(figure, result, split, stats)
            path = out_dir / f"{split}_{kind}.png"
            figure.savefig(path, dpi=110, bbox_inches="tight")
            paths.append(path)
    return paths


def _plot_agreement(figure, result, split, stats) -> None:
    values = np.array(stats["per_annotator_agreement"])
    models = result["annotator_models"]
    names = [f"{i}: {models[i]}" if i < len(models) else str(i) for i in range(len(values))]
    figure.set_size_inches(9, 4)
    axes = figure.subplots()
    axes.bar(np.arange(len(values)), values, color="tab:blue")
    axes.axhline(stats["agreement"], color="black", linestyle="-", label="measured, all")
    if result["expected_agreement"] is not None:
        axes.axhline(
            result["expected_agreement"], color="tab:red", linestyle="--", label="published"
        )
    axes.set_xticks(np.arange(len(values)), names, rotation=60, ha="right", fontsize=8)
    axes.set_ylim(0, 1)
    axes.set_ylabel("agreement with the clean label")
    axes.set_title(f"{result['config']} {split}: agreement per annotator (column)")
    if not result["annotator_models_known"]:
        axes.set_xlabel("column: model, in upstream's list order (its column order is unstated)")
    axes.legend(loc="upper right")


def _plot_confidence(figure, result, split, stats) -> None:
    confidence = stats["confidence"]
    edges = np.array(confidence["histogram_edges"])
    figure.set_size_inches(7, 4)
    axes = figure.subplots()
    for kind, color in (("correct", "tab:green"), ("wrong", "tab:red")):
        counts = np.array(confidence[f"histogram_{kind}"], np.float64)
        density = counts / counts.sum() if counts.sum() else counts
        axes.stairs(density, edges, fill=True, alpha=0.45, color=color, label=f"{kind} labels")
    axes.set_xlabel("annotator confidence in its label")
    axes.set_ylabel("fraction of labels")
    axes.set_title(f"{result['config']} {split}: confidence of correct vs wrong labels")
    axes.legend()


def _plot_confusions(figure, result, split, stats) -> None:
    heatmap = stats["transitions"]["heatmap"]
    shares = np.array(heatmap["shares"], np.float64).reshape(len(heatmap["classes"]), -1)
    names = [_short_name(entry) for entry in heatmap["classes"]]
    size = max(4.0, 0.35 * len(names) + 3)
    figure.set_size_inches(size + 1.5, size)
    axes = figure.subplots()
    masked = np.ma.masked_where(np.eye(len(names), dtype=bool), shares)
    image = axes.imshow(masked, cmap="viridis", interpolation="nearest")
    figure.colorbar(image, ax=axes, label="share of the clean class's labels", shrink=0.8)
    axes.set_xticks(np.arange(len(names)), names, rotation=75, ha="right", fontsize=7)
    axes.set_yticks(np.arange(len(names)), names, fontsize=7)
    axes.set_xlabel("annotator label")
    axes.set_ylabel("clean label")
    axes.set_title(
        f"{result['config']} {split}: confusions among the {len(names)} most confused "
        "classes\n(diagonal, the agreement, left blank)",
        fontsize=9,
    )


def write_markdown(
    result: Mapping[str, Any], plots: Sequence[os.PathLike], out_dir: str | os.PathLike
) -> pathlib.Path:
    """`report.md`: the text report and the plots, linked by relative path."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# ImageNet-PI report: {result['config'] or 'unnamed config'}", ""]
    lines += [f"Source: `{result['source']}`", ""]
    if result["beta"] is not None:
        lines += [f"beta = {result['beta']:g} (temperatures T ~ Gamma(1, rate=beta))", ""]
    expected = result["expected_agreement"]
    lines += ["| split | examples | agreement | published | majority vote | conf. correct "
              "| conf. wrong |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for split, stats in result["splits"].items():
        lines.append(
            f"| {split} | {stats['num_examples']:,} | {_percent(stats['agreement'])} | "
            f"{_percent(expected)} | {_percent(stats['majority_vote_agreement'])} | "
            f"{_percent(stats['confidence']['mean_correct'])} | "
            f"{_percent(stats['confidence']['mean_wrong'])} |"
        )
    lines += ["", "## Details", "", "```", format_text(result), "```", ""]
    by_split: dict[str, list[str]] = {}
    for path in plots:
        name = pathlib.Path(path).name
        by_split.setdefault(name.split("_", 1)[0], []).append(name)
    for split, names in by_split.items():
        lines += [f"## {split}", ""]
        lines += [f"![{name}]({name})" for name in names]
        lines.append("")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_report(result: Mapping[str, Any], out_dir: str | os.PathLike) -> list[pathlib.Path]:
    """Writes `report.json`, the PNGs and `report.md` to `out_dir`; returns their paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    plots = write_plots(result, out_dir)
    return [json_path, *plots, write_markdown(result, plots, out_dir)]
