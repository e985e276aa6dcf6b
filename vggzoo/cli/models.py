"""``vggzoo list`` and ``vggzoo info``."""

from __future__ import annotations

import argparse
import json

from ..models.factory import list_models, model_info
from ..plugins.registry import MODELS
from .output import echo, fmt_count, print_table


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'vgg16*'")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="leave out names matching PATTERN (repeatable)")
    p.add_argument("--pretrained", action="store_true",
                   help="list named weights (vgg16.tv_in1k, ...) instead of models")
    p.set_defaults(run=run_list)

    p = subparsers.add_parser("info", help="configuration, size, cost and paper results of a model")
    p.add_argument("name", help="model name or paper letter (A, A-LRN, B, C, D, E)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=run_info)


def run_list(args: argparse.Namespace) -> int:
    if args.pretrained:
        return _list_weights(args)
    rows = []
    for name in list_models(args.pattern, exclude=args.exclude):
        entry = MODELS.get(name)
        rows.append((name, entry.info.get("config") or "", ", ".join(entry.aliases),
                     entry.info.get("description", ""), entry.source))
    print_table(None, ("model", "config", "aliases", "description", "registered by"), rows)
    return 0


def _list_weights(args: argparse.Namespace) -> int:
    from ..weights.named import get_weights
    from ..plugins.registry import WEIGHTS

    rows = []
    for name in list_models(args.pattern, exclude=args.exclude, pretrained=True):
        _, spec = get_weights(name)
        metrics = "; ".join(f"{data}: " + ", ".join(f"{k} {v}" for k, v in values.items())
                            for data, values in spec.metrics.items())
        cached = "yes" if spec.cache_path().is_file() else f"no ({spec.cache_path()})"
        rows.append((name, spec.model, spec.num_classes, spec.preprocessing.name, metrics or "-",
                     spec.file_name, cached, WEIGHTS.get(name).source))
    print_table(None, ("weights", "model", "classes", "preprocessing", "reported", "file",
                       "in cache", "registered by"), rows)
    return 0


def run_info(args: argparse.Namespace) -> int:
    info = model_info(args.name)
    if args.json:
        print(json.dumps(info.as_dict(), indent=2, default=str))
        return 0
    pre = info.preprocessing
    facts = [
        ("name", info.name), ("paper config", info.config or "-"),
        ("aliases", ", ".join(info.aliases) or "-"), ("description", info.description),
        ("registered by", info.source),
        ("parameters", "; ".join(
            [f"{fmt_count(info.params)} (counted here)"]
            + ([f"{info.paper_params_m} M (paper, Table 2)"] if info.paper_params_m else [])
            + ([f"{fmt_count(info.torchvision_params)} (torchvision's weights metadata)"]
               if info.torchvision_params else []))),
        ("GMACs at 224", "; ".join(
            [f"{info.macs_224 / 1e9:.2f} (counted here)"]
            + ([f"{info.torchvision_gmacs:.2f} (torchvision's weights metadata)"]
               if info.torchvision_gmacs else [])
            + (["none given in the paper"] if info.config else []))),
        ("default input", "x".join(map(str, info.default_input_size))),
        ("min fully-conv input", f"{info.min_input_size}x{info.min_input_size}"),
        ("preprocessing", f"subtract mean RGB {pre['mean_rgb_255']} from 0-255 pixels"),
    ]
    if "torchvision_weights" in pre:
        tv = pre["torchvision_weights"]
        facts.append(("with torchvision weights",
                      f"0-1 pixels, mean {tv['mean']}, std {tv['std']} ({info.torchvision_weights})"))
    from ..weights.named import weights_of

    facts.append(("named weights", ", ".join(weights_of(info.name)) or "-"))
    print_table(f"vggzoo info {info.name}", ("", ""), facts)
    if info.paper_results:
        print_table("Reported in the paper (ILSVRC-2012 val, error %)",
                    ("table", "protocol", "train S", "test Q", "top-1", "top-5"),
                    [(r["table"], r["protocol"], r["train_scale"], r["test_scale"],
                      r["top1_err"], r["top5_err"]) for r in info.paper_results])
    else:
        echo("The paper reports no result for this network.")
    return 0
