"""VGG16 throughput on one NVIDIA GPU, against the card's measured bf16 peak.

    python bench/gpu.py                      # H100/H200: a few minutes
    python bench/gpu.py --smoke              # CPU, tiny model: checks the script itself

Measures, in one run:

1. the practical peak: TFLOP/s of a large bf16 matrix product;
2. images/s of the fully-convolutional VGG16 at 224x224 and for dense
   3-scale evaluation (one pass at each test scale Q, square QxQ inputs; an
   image counts once for all three passes), at batches 1, 64 and 256, for:
   torch eager fp32 (PyTorch defaults, cuDNN TF32 on) and bf16 autocast, the
   fast path (bf16 + channels_last + per-shape CUDA graphs, and with
   torch.compile), ONNX Runtime's CUDA provider (fp32 and fp16 ONNX) and
   TensorRT (fp16 and bf16 engines) when installed;
3. a table with images/s, achieved TFLOP/s, the fraction of the peak and the
   ratio to torch eager bf16 in the same run, written to --json as well.

A backend that is missing or fails (not installed, out of memory) becomes a
row saying why; the other rows still run.  Inputs are already on the GPU and
the logits come back to the CPU each call, as in evaluation.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "export")]

import vggzoo  # noqa: E402
from vggzoo.cli.output import print_table  # noqa: E402
from vggzoo.models.complexity import count_macs  # noqa: E402
from vggzoo.runtime import TorchRunner  # noqa: E402
from vggzoo.runtime.machine import cpu_info  # noqa: E402

Run = Callable[[torch.Tensor], object]
BACKENDS = ("eager-fp32", "eager-bf16", "fast", "fast-compile", "ort-cuda-fp32",
            "ort-cuda-fp16", "trt-fp16", "trt-bf16")
REFERENCE = "eager-bf16"


@dataclass
class Row:
    backend: str
    workload: str
    batch: int
    images_per_s: float | None = None
    ms_per_batch: float | None = None
    tflops: float | None = None
    peak_fraction: float | None = None
    vs_reference: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple[int, ...]


# -- environment -------------------------------------------------------------
def versions() -> dict[str, str]:
    found = {"torch": torch.__version__, "vggzoo": vggzoo.__version__}
    for module in ("onnxruntime", "tensorrt"):
        with contextlib.suppress(ImportError):
            found[module] = __import__(module).__version__
    return found


# -- measuring ---------------------------------------------------------------
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], device: torch.device, *, budget: float,
                     warmup: int = 2, min_calls: int = 3) -> float:
    """Median-free mean over as many calls as fit in ``budget`` seconds."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < budget:
        fn()
        calls += 1
    synchronize(device)
    return (time.perf_counter() - start) / calls


def matmul_peak_tflops(device: torch.device, n: int, budget: float) -> float:
    """TFLOP/s of an n x n x n bf16 matrix product: the practical peak."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    seconds = seconds_per_call(lambda: a @ b, device, budget=budget)
    return 2 * n**3 / seconds / 1e12


def flops_per_image(model_name: str, width: float, size: int) -> float:
    with torch.device("meta"):
        model = vggzoo.create(model_name, fully_conv=True, width_mult=width)
    return 2.0 * count_macs(model, (3, size, size))


def measure(run: Run, workload: Workload, batch: int, device: torch.device, budget: float,
            flops: dict[int, float]) -> tuple[float, float, float]:
    """(images/s, ms per batch, TFLOP/s): a batch of ``batch`` images passes
    once through every size of the workload."""
    total = 0.0
    for size in workload.sizes:
        x = torch.rand(batch, 3, size, size, device=device) * 255 - 120
        total += seconds_per_call(lambda: run(x), device, budget=budget / len(workload.sizes))
        del x
    images = batch / total
    return images, 1000 * total, images * sum(flops[s] for s in workload.sizes) / 1e12


def fill_ratios(rows: list[Row], peak: float) -> None:
    reference = {(r.workload, r.batch): r.images_per_s for r in rows
                 if r.backend == REFERENCE and r.images_per_s}
    for row in rows:
        if row.images_per_s is None:
            continue
        row.peak_fraction = row.tflops / peak if peak else None
        ref = reference.get((row.workload, row.batch))
        row.vs_reference = row.images_per_s / ref if ref else None


# -- backends ----------------------------------------------------------------
def torch_backends(model: torch.nn.Module, device: torch.device,
                   cuda: bool) -> dict[str, Callable[[], Run]]:
    def runner(**options) -> Callable[[], Run]:
        # a copy each: runners move the model and change its memory format in place
        return lambda: TorchRunner(copy.deepcopy(model), device=device, **options).logits

    fast = dict(precision="bf16", channels_last=True)
    return {
        "eager-fp32": runner(),
        "eager-bf16": runner(precision="bf16"),
        "fast": runner(**fast, cuda_graphs=cuda),
        "fast-compile": runner(**fast, compile="dynamic"),
    }


def export_onnx(model: torch.nn.Module, path: Path) -> Path:
    """fp32 fully-convolutional ONNX with dynamic batch, height and width
    (the issue-6 exporter replaces this when it lands)."""

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x)

    wrapper = Logits().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper.cpu(), torch.randn(1, 3, 224, 224), str(path), dynamo=False,
                          opset_version=17, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n"}})
    model.eval()
    return path


def onnxruntime_backend(onnx_path: Path, device: torch.device) -> Run:
    """ONNX Runtime with IO binding on torch tensors (no host copies of the input)."""
    import numpy as np
    import onnxruntime as ort

    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise RuntimeError("onnxruntime has no CUDA provider here (install onnxruntime-gpu)")
        providers = [("CUDAExecutionProvider", {"device_id": device.index or 0,
                                                "cudnn_conv_algo_search": "EXHAUSTIVE"})]
    else:
        providers = ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    kind = "cuda" if device.type == "cuda" else "cpu"

    def run(x: torch.Tensor) -> object:
        x = x.contiguous()
        binding = session.io_binding()
        binding.bind_input("image", kind, device.index or 0, np.float32, tuple(x.shape),
                           x.data_ptr())
        binding.bind_output("logits", kind)
        session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    return run


def tensorrt_backend(onnx_path: Path, precision: str, workloads: list[Workload],
                     max_batch: int, work_dir: Path) -> Run:
    from vggzoo_export.trt import TrtRunner, build_engine
    from vggzoo_export.trt.profiles import Profile

    sizes = sorted({s for w in workloads for s in w.sizes})
    profiles = [Profile((1, 3, s, s), (max_batch, 3, s, s), (max_batch, 3, s, s)) for s in sizes]
    engine = work_dir / f"bench-{precision}.plan"
    start = time.perf_counter()
    build_engine(onnx_path, engine, precision=precision, profiles=profiles, log=lambda _: None)
    print(f"built the {precision} TensorRT engine in {time.perf_counter() - start:.0f} s")
    runner = TrtRunner(engine)
    return runner.logits


# -- main --------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--batches", default="1,64,256")
    parser.add_argument("--scales", default="256,384,512", help="dense test scales")
    parser.add_argument("--backends", default=None,
                        help=f"comma-separated subset of {','.join(BACKENDS)} (default: all; "
                             f"with --smoke all but fast-compile, slow to compile on CPU)")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="timed seconds per row and workload (after warm-up)")
    parser.add_argument("--json", type=Path, default=Path("bench-gpu.json"))
    parser.add_argument("--smoke", action="store_true",
                        help="CPU, tiny model, small sizes: checks the script, not the GPU")
    args = parser.parse_args(argv)
    if args.backends is None:
        args.backends = ",".join(b for b in BACKENDS if not (args.smoke and b == "fast-compile"))
    unknown = set(args.backends.split(",")) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(BACKENDS)}")
    return args


def plan(args: argparse.Namespace) -> tuple[torch.device, float, list[int], list[Workload], int]:
    """(device, width multiplier, batches, workloads, matmul size) for this run."""
    if args.smoke:
        return (torch.device("cpu"), 1 / 16, [1, 2],
                [Workload("224", (224,)), Workload("dense 224,256", (224, 256))], 512)
    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu.py needs a CUDA GPU (none is visible); "
                         "`--smoke` checks the script on CPU")
    scales = tuple(int(s) for s in args.scales.split(","))
    return (torch.device("cuda"), 1.0, [int(b) for b in args.batches.split(",")],
            [Workload("224", (224,)), Workload("dense " + ",".join(map(str, scales)), scales)],
            8192)


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    device, width, batches, workloads, matmul_n = plan(args)
    cpu_facts = cpu_info()
    cpu, flags = cpu_facts["model_name"], cpu_facts["flags"]
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none (smoke run)"
    print(f"GPU: {gpu}\nCPU: {cpu}\nCPU flags: {flags}\nversions: {versions()}")
    peak = matmul_peak_tflops(device, matmul_n, budget=args.seconds)
    print(f"measured bf16 matmul peak ({matmul_n}^3): {peak:.1f} TFLOP/s")

    torch.manual_seed(0)
    model = vggzoo.create(args.model, fully_conv=True, width_mult=width).eval()
    flops = {s: flops_per_image(args.model, width, s) for w in workloads for s in w.sizes}
    wanted = args.backends.split(",")
    factories: dict[str, Callable[[], Run]] = torch_backends(model, device,
                                                             device.type == "cuda")
    work_dir = Path(tempfile.mkdtemp(prefix="vggzoo-bench-"))
    onnx_paths: dict[str, Path] = {}

    def onnx_file(precision: str) -> Path:
        if "fp32" not in onnx_paths:
            onnx_paths["fp32"] = export_onnx(model, work_dir / "model.onnx")
        if precision not in onnx_paths:
            from vggzoo_export.trt.precision import convert_onnx_file

            onnx_paths[precision] = convert_onnx_file(onnx_paths["fp32"],
                                                      work_dir / f"model.{precision}.onnx",
                                                      precision)
        return onnx_paths[precision]

    for precision in ("fp32", "fp16"):
        factories[f"ort-cuda-{precision}"] = (
            lambda p=precision: onnxruntime_backend(onnx_file(p), device))
    for precision in ("fp16", "bf16"):
        factories[f"trt-{precision}"] = (lambda p=precision: tensorrt_backend(
            onnx_file("fp32"), p, workloads, max(batches), work_dir))

    rows: list[Row] = []
    for backend in (b for b in BACKENDS if b in wanted):
        try:
            run = factories[backend]()
        except Exception as exc:  # a missing backend is a row, not a crash
            reason = f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
            rows.append(Row(backend, "all", 0, note=reason))
            print(f"{backend}: {reason}")
            continue
        for workload in workloads:
            for batch in batches:
                row = Row(backend, workload.name, batch)
                try:
                    row.images_per_s, row.ms_per_batch, row.tflops = measure(
                        run, workload, batch, device, args.seconds, flops)
                except torch.cuda.OutOfMemoryError:
                    row.note = "out of GPU memory"
                except Exception as exc:
                    row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                rows.append(row)
                print(f"{backend:14} {workload.name:18} batch {batch:4}: "
                      f"{row.images_per_s or 0:10.1f} img/s {row.note}", flush=True)
        del run
        if device.type == "cuda":
            torch.cuda.empty_cache()

    fill_ratios(rows, peak)
    print_table(f"{args.model} on {gpu}; bf16 peak {peak:.1f} TFLOP/s; CPU {cpu}",
                ["backend", "workload", "batch", "img/s", "ms/batch", "TFLOP/s", "of peak",
                 f"x {REFERENCE}", "note"],
                [(r.backend, r.workload, r.batch or "", _fmt(r.images_per_s, ".1f"),
                  _fmt(r.ms_per_batch, ".2f"), _fmt(r.tflops, ".3g"),
                  _fmt(r.peak_fraction, ".1%"), _fmt(r.vs_reference, ".2f"), r.note)
                 for r in rows])
    best = max((r for r in rows if r.images_per_s and r.workload == "224"),
               key=lambda r: r.images_per_s, default=None)
    if best:
        print(f"best at 224: {best.backend} batch {best.batch}: {best.images_per_s:.0f} img/s, "
              f"{_fmt(best.peak_fraction, '.1%')} of the measured peak, "
              f"{_fmt(best.vs_reference, '.2f')}x {REFERENCE}")
    args.json.write_text(json.dumps({
        "gpu": gpu, "cpu": cpu, "cpu_flags": flags, "versions": versions(),
        "model": args.model, "width_mult": width, "peak_bf16_tflops": peak,
        "flops_per_image": flops, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    print(f"wrote {args.json}")
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


if __name__ == "__main__":
    main()
