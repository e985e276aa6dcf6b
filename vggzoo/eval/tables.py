"""Results as the paper lays them out (Tables 3-6: config, train S, test Q,
top-1 and top-5 error), in Markdown and JSON, with the paper's numbers next
to ours when asked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..io import atomic_path
from ..plugins.registry import MODELS
from .result import EvalResult


@dataclass(frozen=True)
class PaperTable:
    """What one of the paper's tables measures."""

    number: int
    title: str
    protocols: tuple[str, ...]
    multi_scale: bool
    #: The protocol of the paper's rows kept in the model registry.
    reported: str = "dense"
    #: Average all given networks (Table 6) instead of one row per network.
    fuse: bool = False


PAPER_TABLES: dict[int, PaperTable] = {t.number: t for t in (
    PaperTable(3, "single test scale, dense evaluation", ("dense",), multi_scale=False),
    PaperTable(4, "multiple test scales, dense evaluation", ("dense",), multi_scale=True),
    PaperTable(5, "dense and multi-crop evaluation, multiple test scales",
               ("dense", "multicrop", "dense+multicrop"), multi_scale=True,
               reported="dense+multicrop"),
    PaperTable(6, "ConvNet fusion, dense + multi-crop, multiple test scales",
               ("dense+multicrop",), multi_scale=True, reported="dense+multicrop", fuse=True),
)}

COLUMNS = ("config", "train S", "test Q", "protocol", "top-1 err %", "top-5 err %", "images",
           "non-finite", "GFLOPs/image", "s/image")
PAPER_COLUMNS = ("paper top-1 %", "paper top-5 %")


def paper_result(result: EvalResult, table: int) -> dict[str, Any] | None:
    """The paper's row for this result's network(s), training scale and
    protocol (the registry keeps the paper's rows for one protocol a table)."""
    if result.protocol != PAPER_TABLES[table].reported:
        return None
    train = result.train_scales[0]
    for model in result.models:
        if model not in MODELS:
            continue
        for row in MODELS.get(model).info.get("paper_results", []):
            if row.table == table and (table == 6 or row.train_scale == train):
                return {"top1_err": row.top1_err, "top5_err": row.top5_err,
                        "train_scale": row.train_scale, "test_scale": row.test_scale}
    return None


def result_row(result: EvalResult, paper_table: int | None = None) -> list[str]:
    scales = {",".join(map(str, s)) for s in result.scales}
    gflops = result.gflops_per_image
    row = ["+".join(c or m for c, m in zip(result.configs, result.models)),
           "/".join(dict.fromkeys(s or "?" for s in result.train_scales)),
           " / ".join(sorted(scales)), result.protocol + (" (no flip)" if not result.flip else ""),
           f"{result.top1_err:.1f}", f"{result.top5_err:.1f}", str(result.images), str(result.nonfinite),
           "-" if gflops is None else f"{gflops:.2f}", f"{result.seconds_per_image:.3f}"]
    if paper_table is not None:
        paper = paper_result(result, paper_table)
        row += [f"{paper['top1_err']}", f"{paper['top5_err']}"] if paper else ["-", "-"]
    return row


def columns(paper_table: int | None = None) -> tuple[str, ...]:
    return COLUMNS + (PAPER_COLUMNS if paper_table is not None else ())


def markdown(results: Sequence[EvalResult], paper_table: int | None = None) -> str:
    """A Markdown table, one row per result."""
    header = columns(paper_table)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(result_row(r, paper_table)) + " |" for r in results]
    if paper_table is not None:
        lines.insert(0, f"Table {paper_table}: {PAPER_TABLES[paper_table].title} "
                        f"(ILSVRC-2012 val in the paper; our numbers on the given data)\n")
    return "\n".join(lines)


def as_json(results: Sequence[EvalResult], paper_table: int | None = None) -> dict[str, Any]:
    rows = []
    for result in results:
        row = result.as_dict()
        if paper_table is not None:
            row["paper"] = paper_result(result, paper_table)
        rows.append(row)
    return {"paper_table": paper_table, "results": rows}


def write_json(path: str | os.PathLike, results: Sequence[EvalResult],
               paper_table: int | None = None) -> None:
    """Write :func:`as_json` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(as_json(results, paper_table), indent=2) + "\n")
