"""Loss, error and learning-rate curves of a run, as PNG files (matplotlib
Agg backend: no display needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_path, check_writable, check_writable_dir
from .rundir import METRICS_FILE

#: The curves :func:`plot_run` draws: file, y label, (legend, metric) series, log scale.
FIGURES = {
    "loss.png": ("loss", [("train", "train_loss"), ("val", "val_loss")], False),
    "error.png": ("validation error (%)", [("top-1", "val_top1_err"),
                                           ("top-5", "val_top5_err")], False),
    "lr.png": ("learning rate", [("lr", "lr")], True),
}


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The per-epoch rows of ``RUN_DIR/metrics.jsonl``."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: is {run_dir} a vggzoo training run directory "
                          f"with at least one finished epoch?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def check_plot_outputs(run_dir: str | Path, out: str | Path | None) -> Path:
    """The folder the plots of ``run_dir`` go to, checked before any is drawn:
    writable (created if missing), and no plot file landing on the run's
    metrics (the input) or on another run's files; ``run_dir``'s own plots
    are the ones it may replace."""
    run_dir = Path(run_dir)
    folder = check_writable_dir(out or run_dir, "--out")
    if folder.is_dir():
        for name in FIGURES:
            check_writable(folder / name, "--out", inputs=[run_dir / METRICS_FILE],
                           own_run=run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write ``loss.png``, ``error.png`` and ``lr.png`` (to ``out``, default
    ``run_dir``; checked by :func:`check_plot_outputs` before drawing, each
    written atomically); returns their paths."""
    rows = read_metrics(run_dir)
    out = check_plot_outputs(run_dir, out)
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("vggzoo plot needs matplotlib: pip install 'vggzoo[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    written = []
    for name, (ylabel, series, log_scale) in FIGURES.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        missing = []
        for label, key in series:
            values = [_finite(r.get(key)) for r in rows]
            missing += [e for e, v in zip(epochs, values) if v is None]
            ax.plot(epochs, [math.nan if v is None else v for v in values], marker="o",
                    label=label)
        if missing:  # a gap in the curve says why, instead of vanishing silently
            ax.set_title(f"no finite value at epoch(s) {', '.join(map(str, sorted(set(missing))))}",
                         color="red", fontsize=9)
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
