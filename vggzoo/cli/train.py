"""``vggzoo train``, ``vggzoo data stats`` and ``vggzoo plot``."""

from __future__ import annotations

import argparse
import logging
import math
import os

from ..data import PAPER_AUGMENTATIONS
from ..io import check_writable, check_writable_dir
from .output import ProgressBar, echo, print_table


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_train_command(subparsers)
    p = subparsers.add_parser("data", help="dataset tools")
    data_commands = p.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    s = data_commands.add_parser("stats", help="mean RGB and RGB PCA of DIR/train -> DIR/stats.json")
    s.add_argument("dir", help="directory with train/ and val/ class folders")
    s.add_argument("--out", help="where to write the JSON (default DIR/stats.json)")
    s.add_argument("--max-images", type=int, help="use an evenly spaced subset of this many")
    s.set_defaults(run=run_stats)

    p = subparsers.add_parser("plot", help="loss, error and lr curves of a run as PNG")
    p.add_argument("run_dir")
    p.add_argument("--out", help="output directory (default RUN_DIR)")
    p.set_defaults(run=run_plot)


def _add_train_command(subparsers: argparse._SubParsersAction) -> None:
    from ..training.recipes import RECIPES

    p = subparsers.add_parser(
        "train", help="train a model with the paper's recipe (torchrun for several GPUs/nodes)",
        description="Train on DIR/train, validate on DIR/val (ImageFolder layout). A --config "
                    "file (JSON/TOML) overrides the recipe; options override both.")
    p.add_argument("--model", help="registered model name (default vgg11)")
    p.add_argument("--data", help="directory with train/ and val/ class folders")
    p.add_argument("--out", required=True, help="run directory (config, metrics, checkpoints, weights)")
    p.add_argument("--recipe", choices=sorted(RECIPES), help="named recipe (default paper-s256)")
    p.add_argument("--config", help="JSON or TOML file of training options")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="effective batch (paper: 256)")
    p.add_argument("--micro-batch", type=int,
                   help="images per step per process; gradients are accumulated to --batch-size")
    p.add_argument("--lr", type=float)
    p.add_argument("--scale", help="training scale S, e.g. 256, or Smin:Smax for jittering")
    p.add_argument("--crop", type=int)
    p.add_argument("--width-mult", type=float)
    p.add_argument("--num-classes", type=int, help="must equal the number of class folders")
    p.add_argument("--init", help="initializer: kaiming-input (default), paper, glorot, kaiming, "
                                  "from-a, from-checkpoint")
    p.add_argument("--init-from",
                   help="fine-tune from: named weights (vgg16.tv_in1k), a run directory or a "
                        "weights file; the head is reset to DIR's classes, the model, width and "
                        "preprocessing come from the weights (implies --init from-checkpoint)")
    p.add_argument("--freeze", metavar="features|LAYER",
                   help="freeze the conv trunk ('features') or its layers up to LAYER "
                        "(conv4_3, features.20) while fine-tuning")
    p.add_argument("--head-lr", type=float, help="learning rate of the classifier (default --lr)")
    p.add_argument("--init-std", type=float,
                   help="std of the paper initializer (default 0.01; 0.1 is the literal reading "
                        "of the paper's 'variance 1e-2' and diverges on 0-255 inputs)")
    p.add_argument("--augment", nargs="+", metavar="NAME",
                   help=f"augmentations in order (default: {' '.join(PAPER_AUGMENTATIONS)})")
    p.add_argument("--stats", help="stats.json from `vggzoo data stats` (default DIR/stats.json)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--amp", choices=("bf16", "fp16"))
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    p.add_argument("--seed", type=int)
    p.add_argument("--deterministic", action="store_true", default=None)
    p.add_argument("--workers", type=int, help="DataLoader worker processes")
    p.add_argument("--patience", type=int, help="epochs without val top-1 gain before lr / 10")
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run already in --out and start again")
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from ..training import train
    from ..training.config import FIELDS

    check_writable_dir(args.out, "--out")  # before data is read or a model built
    main_process = int(os.environ.get("RANK", 0)) == 0  # under torchrun, rank 0 reports
    logging.basicConfig(level=logging.INFO if main_process else logging.WARNING,
                        format="%(message)s")
    # Every TrainConfig field the parser defines (argparse dests use the same names).
    options = {name: getattr(args, name) for name in FIELDS
               if name not in ("out", "recipe") and hasattr(args, name)}
    with _train_bar(enabled=main_process and args.progress is not False) as bar:
        result = train(out=args.out, recipe=args.recipe, config=args.config, resume=args.resume,
                       overwrite=args.overwrite, on_progress=bar, **options)
    if main_process:
        print_table(f"vggzoo train {result.run_dir}", ("", ""), [
            ("epochs", result.epochs), ("optimizer steps", result.steps),
            ("best val top-1 error", f"{result.best_top1_err:.2f}%"
             if math.isfinite(result.best_top1_err) else "none yet (stopped before the first "
                                                         "epoch ended; --resume goes on)"),
            ("weights", result.weights)])
    return 0


def _train_bar(enabled: bool) -> ProgressBar:
    """One bar per epoch over its optimizer steps, with loss, lr and speed."""
    from rich.progress import (BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn,
                               TimeRemainingColumn)
    from rich.text import Text

    class StepColumn(ProgressColumn):
        """Loss, lr and speed; no loss is shown before the epoch's first step."""

        def render(self, task) -> Text:
            loss = task.fields.get("loss")
            return Text(f"loss {'-' if loss is None else f'{loss:.4f}'}  "
                        f"lr {task.fields['lr']:.2g}  {task.fields['images_per_s']:.1f} img/s")

    return ProgressBar("train", enabled=enabled, stderr=False, task_key="epoch", columns=(
        TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        StepColumn(), TimeRemainingColumn()))


def run_stats(args: argparse.Namespace) -> int:
    from ..data.stats import STATS_FILE, compute_stats

    out = args.out or os.path.join(args.dir, STATS_FILE)
    if args.out or os.path.isdir(args.dir):  # a missing DIR is reported by compute_stats
        check_writable(out, "--out", inputs=[args.dir])
    with ProgressBar("RGB statistics", stderr=False) as bar:
        stats = compute_stats(args.dir, max_images=args.max_images, progress=bar)
    path = stats.save(out)
    d = stats.as_dict()
    print_table(f"RGB statistics of {args.dir}/train ({stats.images} images)", ("", ""), [
        ("mean RGB (0-255)", d["mean_rgb_255"]),
        ("PCA eigenvalues (0-1 pixels)", [round(v, 6) for v in d["eigval"]]),
        ("PCA eigenvectors (columns)", [[round(v, 4) for v in row] for row in d["eigvec"]])])
    echo(f"wrote {path}")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from ..training.plot import plot_run

    for path in plot_run(args.run_dir, args.out):
        echo(f"wrote {path}")
    return 0
