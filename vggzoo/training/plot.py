"""Loss, error and learning-rate curves of a run, as PNG files (matplotlib
Agg backend: no display needed)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_path

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The per-epoch rows of ``RUN_DIR/metrics.jsonl``."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: is {run_dir} a vggzoo training run directory "
                          f"with at least one finished epoch?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write ``loss.png``, ``error.png`` and ``lr.png`` (to ``out``, default
    ``run_dir``); returns their paths."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("vggzoo plot needs matplotlib: pip install 'vggzoo[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    out = Path(out or run_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = [r["epoch"] for r in rows]
    figures = {
        "loss.png": ("loss", [("train", "train_loss"), ("val", "val_loss")], False),
        "error.png": ("validation error (%)", [("top-1", "val_top1_err"),
                                               ("top-5", "val_top5_err")], False),
        "lr.png": ("learning rate", [("lr", "lr")], True),
    }
    written = []
    for name, (ylabel, series, log_scale) in figures.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, key in series:
            scale = 100 if key.endswith("_err") else 1
            ax.plot(epochs, [r[key] * scale for r in rows], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if log_scale:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        written.append(out / name)
    return written
