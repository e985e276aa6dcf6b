"""Cost of the paper's two test protocols for full-size VGG16, side by side.

3-scale dense evaluation (the fully-convolutional net over each whole image
and its flip at Q = 256, 384, 512) against 150-crop multi-crop evaluation
(5x5 grid x 2 flips x 3 scales), on the same real photos and machine, in one
run: FLOPs counted from the network inputs, time measured around the runner
calls.  The paper's argument (Sect. 3.2) is that dense evaluation is far
cheaper; this prints by how much.

    PYTHONPATH=. python bench/dense_vs_multicrop.py            # 2 photos, a few minutes
    PYTHONPATH=. python bench/dense_vs_multicrop.py --images 3 --weights vgg16.pth
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from PIL import Image

import vggzoo
from vggzoo.cli.output import ProgressBar, echo, print_table
from vggzoo.eval import evaluate_protocols
from vggzoo.eval.network import network_of
from vggzoo.io import atomic_path
from vggzoo.runtime.machine import cpu_info
from vggzoo.runtime import TorchRunner
from vggzoo.data.samples import PHOTOS, load_photo


def photo_folder(root: Path, count: int) -> Path:
    """An ImageFolder of ``count`` bundled photos, one class each."""
    for name in PHOTOS[:count]:
        (root / name).mkdir(parents=True)
        Image.fromarray(load_photo(name)).save(root / name / f"{name}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2, choices=range(1, len(PHOTOS) + 1),
                        help="bundled photos to evaluate (default 2)")
    parser.add_argument("--scales", default="256,384,512")
    parser.add_argument("--weights", default=None, help="VGG16 weights (default: random; the "
                        "cost does not depend on the weights)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()

    model = vggzoo.create("vgg16", weights=args.weights)
    network = network_of(TorchRunner(model))
    with tempfile.TemporaryDirectory() as tmp:
        data = photo_folder(Path(tmp), args.images)
        with ProgressBar("evaluating") as bar:
            dense, crops = evaluate_protocols([network], data, ["dense", "multicrop"],
                                              scales=args.scales, batch_size=args.batch_size,
                                              progress=bar)
    cpu = cpu_info()
    model_name, flags = cpu["model_name"], cpu["flags"]
    rows = [(r.protocol, "Q = " + ",".join(map(str, r.scales[0])),
             f"{r.gflops_per_image:.1f}", f"{r.seconds_per_image:.2f}") for r in (dense, crops)]
    print_table(f"VGG16, {dense.images} photo(s), {torch.get_num_threads()} threads",
                ("protocol", "test scales", "GFLOPs/image", "s/image"), rows)
    flop_ratio = crops.gflops_per_image / dense.gflops_per_image
    time_ratio = crops.seconds_per_image / dense.seconds_per_image
    echo(f"multi-crop / dense: {flop_ratio:.2f}x the FLOPs, {time_ratio:.2f}x the time")
    print(f"lscpu model name: {model_name}")
    print(f"lscpu flags: {flags}")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({
                "dense": dense.as_dict(), "multicrop": crops.as_dict(), "flop_ratio": flop_ratio,
                "time_ratio": time_ratio, "cpu": model_name, "flags": flags,
                "threads": torch.get_num_threads(), "torch": torch.__version__}, indent=2,
                default=str))


if __name__ == "__main__":
    main()
