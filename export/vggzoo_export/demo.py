"""``make demo``'s export half: export VGG16 fully-convolutionally, then time
ONNX Runtime against PyTorch eager on real photos at three test scales."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torchvision.transforms import v2

import vggzoo
from vggzoo.demo import cached_torchvision_weights
from vggzoo.preprocess import Preprocessing, to_input
from vggzoo.sample_images import PHOTOS, load_photo

from .bench import Case, benchmark_files, print_rows, write_json
from .onnx_export import export_onnx


def photo_cases(pre: Preprocessing, scales: Sequence[int]) -> list[Case]:
    """At each scale Q, the bundled photos rescaled isotropically to shortest
    side Q and centre-cropped to QxQ, as one batch."""
    cases = []
    for q in scales:
        transform = v2.Compose([to_input(pre, scale=q), v2.CenterCrop(q)])
        batch = torch.stack([transform(load_photo(name)) for name in PHOTOS])
        cases.append(Case(f"Q={q} photos", batch))
    return cases


def run(model: str = "vgg16", *, weights: str | None = None,
        scales: Sequence[int] = (224, 288, 352), output_dir: str | Path = "runs/export-demo",
        repeat: int = 2) -> Path:
    """Export, benchmark, print the table; returns the exported file."""
    from vggzoo.cli.output import echo, get_console

    if weights is None:
        cached = cached_torchvision_weights(model)
        weights = str(cached) if cached else None
    if weights is None:
        get_console(stderr=True).print(
            f"[bold red]WARNING[/]: no weights given and no torchvision {model} weights cached: "
            f"exporting RANDOM weights. Timings are valid; predictions are not. Pass --weights "
            f"FILE for a real model.", highlight=False)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    net = vggzoo.create(model, fully_conv=True, weights=weights)
    echo(f"Exporting {model} fully-convolutionally to {output_dir / (model + '.onnx')} ...")
    report = export_onnx(net, output_dir / f"{model}.onnx")
    del net
    echo(f"  done in {report.seconds:.1f} s; ONNX Runtime matches PyTorch at "
         + ", ".join(f"{size} (max abs diff {diff:.1g})" for size, diff in report.parity.items()))
    cases = photo_cases(report.metadata.preprocessing, scales)
    rows = benchmark_files([report.path], cases, compare=("torch",), warmup=1, repeat=repeat)
    print_rows(rows, f"{model}: ONNX Runtime vs PyTorch eager, batch of the {len(PHOTOS)} "
                     f"scikit-image photos ({', '.join(PHOTOS)}), warm-up 1, {repeat} timed runs")
    write_json(rows, output_dir / "bench.json", file=str(report.path), photos=list(PHOTOS))
    echo(f"Rows written to {output_dir / 'bench.json'}")
    return report.path
