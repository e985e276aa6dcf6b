"""Load on a real Triton server (issue 19): throughput and p50/p99 latency at
concurrency 1, 4 and 16 over gRPC, against the same runtime called
in-process on the same batches, measured side by side in one run.

Cases: (a) 224x224 images, single crop (Q=224, no flip: one network pass
each); (b) the dense protocol at three scales with flips on images of mixed
sizes.  The server is ``tritonserver`` from the nvidia-pytriton wheel on
127.0.0.1 (free ports), serving vggzoo's python-backend models; it is
stopped by pid at the end.  Every served answer is checked against the
in-process posteriors of the same image (1e-5).  The longest cell (case a,
concurrency 16) sends ``--requests`` requests and samples the server's RSS
(tritonserver plus its python-backend stubs) after request 200 and at the
end.  Every cell is bounded by ``--max-seconds``.

Targets: served throughput at concurrency 16 >= 0.85x in-process; p99 <= 3x
p50 at concurrency 16; 0 failed or wrong answers; RSS flat (+-10%).

With ``--perf-analyzer PATH`` (the ``perf_analyzer`` binary of the
tritonclient 2.51.0 wheel, or that wheel itself: ``pip download --no-deps
tritonclient==2.51.0``) every served cell is also measured by Triton's own
load generator against the same server (gRPC, 127.0.0.1, the same
concurrency, ``--request-count`` as many requests; random pixels of one
image size, answers not checked), printed beside this script's client.
``--runtime openvino`` serves (and runs in-process) on OpenVINO instead of
ONNX Runtime.

Usage: ``python bench/serve_load.py [--width-mult 0.0625] [--requests 2000]
[--runtime onnxruntime|openvino] [--perf-analyzer PATH] [--json out.json]``.  Random weights (speed does not depend on them); a
narrow VGG16 by default so that the run fits a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import vggzoo
from vggzoo.cli.output import echo, print_table
from vggzoo.runtime.machine import cpu_info
from vggzoo_export.onnx.export import export_onnx
from vggzoo_export.serve.client import TritonClient
from vggzoo_export.serve.environment import libraries_dir
from vggzoo_export.serve.server import start_server
from vggzoo_export.serve.service import DenseService
from vggzoo_export.triton.python_model import write_python_model
from vggzoo_export.triton.runtimes import RUNTIMES, check_runtime

CONCURRENCY = (1, 4, 16)
CASES = {"single 224": dict(scales=[224], flip=False, sizes=[(224, 224)]),
         "dense 3 scales": dict(scales=[224, 256, 288], flip=True,
                                sizes=[(224, 298), (256, 256), (300, 225), (240, 320)])}


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in the server's process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


def in_process(service, images, concurrency, count, max_seconds):
    """The runtime called directly on batches of ``concurrency`` images."""
    latencies, done, start = [], 0, time.perf_counter()
    while done < count and time.perf_counter() - start < max_seconds:
        batch = [images[(done + i) % len(images)][0] for i in range(concurrency)]
        t = time.perf_counter()
        service.posteriors(batch)
        latencies.append(time.perf_counter() - t)
        done += concurrency
    return {"images": done, "seconds": time.perf_counter() - start, "latencies": latencies}


def served(server, model, images, references, concurrency, count, max_seconds, rss_after=None):
    """``concurrency`` threads, one gRPC client each, sending one image per request."""
    lock, state = threading.Lock(), {"next": 0, "failed": 0, "wrong": 0, "rss": []}
    latencies: list[float] = []
    deadline = time.perf_counter() + max_seconds

    def worker():
        with TritonClient(f"grpc://{server.grpc_url}", model, timeout=60) as client:
            while time.perf_counter() < deadline:
                with lock:
                    index = state["next"]
                    if index >= count:
                        return
                    state["next"] += 1
                pixels, key = images[index % len(images)]
                t = time.perf_counter()
                try:
                    answer = client.posteriors(pixels[None])[0]
                except Exception:  # noqa: BLE001  (counted, the run goes on)
                    with lock:
                        state["failed"] += 1
                    continue
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    if not np.allclose(answer, references[key], atol=1e-5):
                        state["wrong"] += 1
                    if rss_after and len(latencies) == rss_after:
                        state["rss"].append(group_rss_mib(server.pid))

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if rss_after:
        state["rss"].append(group_rss_mib(server.pid))
    return {"images": len(latencies), "seconds": seconds, "latencies": latencies, **state}


def perf_analyzer_command(path: Path, folder: Path) -> tuple[Path, dict]:
    """The binary (extracted when ``path`` is the wheel) and its environment:
    it needs libb64.so.0d and libcudart.so.12, which the nvidia-pytriton
    wheel ships under other names, linked beside it."""
    import zipfile

    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            member = next(n for n in wheel.namelist() if n.endswith("/bin/perf_analyzer"))
            path = Path(wheel.extract(member, folder))
        path.chmod(0o755)
    libs = folder / "perf-analyzer-libs"
    libs.mkdir(exist_ok=True)
    for soname, pattern in (("libb64.so.0d", "libb64-*.so.0d"),
                            ("libcudart.so.12", "libcudart-*.so.12*")):
        (libs / soname).unlink(missing_ok=True)
        (libs / soname).symlink_to(next(libraries_dir().glob(pattern)))
    return path, {**os.environ, "LD_LIBRARY_PATH": str(libs)}


def perf_analyzer(command, server, model, size, concurrency, count, max_seconds, folder):
    """One perf_analyzer measurement: exactly ``count`` requests, bounded in time."""
    binary, env = command
    out = folder / f"pa-{model}-{concurrency}.csv"
    run_args = [str(binary), "-m", model, "-i", "grpc", "-u", server.grpc_url,
                "--shape", f"image:{size[0]},{size[1]},3", "--concurrency-range", str(concurrency),
                "--request-count", str(count), "--max-trials", "3", "-f", str(out)]
    try:
        done = subprocess.run(run_args, env=env, capture_output=True, text=True,
                              timeout=max_seconds)
    except subprocess.TimeoutExpired:
        return {"error": [f"over {max_seconds:.0f} s"]}
    if done.returncode != 0 or not out.is_file():
        lines = (done.stdout + done.stderr).strip().splitlines()
        return {"error": [line for line in lines if "rror" in line][:1] or lines[-1:]}
    row = next(csv.DictReader(out.open()))
    return {"images_per_s": float(row["Inferences/Second"]),
            "p50_ms": float(row["p50 latency"]) / 1000, "p99_ms": float(row["p99 latency"]) / 1000}


def make_images(sizes, per_size, rng):
    return [(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), f"{h}x{w}#{i}")
            for h, w in sizes for i in range(per_size)]


def run(args) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        onnx = Path(tmp) / "vgg16.onnx"
        echo(f"exporting VGG16 (width x{args.width_mult}, random weights) ...")
        export_onnx(vggzoo.create("vgg16", fully_conv=True, width_mult=args.width_mult), onnx)
        repo, rng, services, images = Path(tmp) / "repo", np.random.default_rng(0), {}, {}
        runtime = check_runtime(args.runtime)
        pa = args.perf_analyzer and perf_analyzer_command(args.perf_analyzer, Path(tmp))
        for name, case in CASES.items():
            model = name.split()[0]
            write_python_model(repo, onnx, name=model, scales=case["scales"], flip=case["flip"],
                               max_batch=16, queue_delay_us=args.queue_delay_us,
                               runtime=args.runtime)
            services[name] = DenseService.open(onnx, scales=case["scales"], flip=case["flip"],
                                               batch_size=32, backend=runtime.runner,
                                               **runtime.options)
            images[name] = make_images(case["sizes"], 4, rng)
        with start_server(repo, timeout=300) as server:
            echo(f"tritonserver pid {server.pid} on {server.grpc_url}: {server.states}")
            for name in CASES:
                model, service = name.split()[0], services[name]
                refs = {key: service.posteriors([px])[0] for px, key in images[name]}
                for c in CONCURRENCY:
                    long_cell = name == "single 224" and c == 16
                    count = args.requests if long_cell else args.requests_per_cell
                    if name.startswith("dense"):
                        count = min(count, args.dense_requests)
                    local = in_process(service, images[name], c, count, args.max_seconds)
                    remote = served(server, model, images[name], refs, c, count,
                                    args.max_seconds, rss_after=200 if long_cell else None)
                    rows.append(summarise(name, c, local, remote))
                    if pa:
                        rows[-1]["perf_analyzer"] = perf_analyzer(
                            pa, server, model, CASES[name]["sizes"][0], c,
                            max(c, min(count, args.requests_per_cell)), args.max_seconds,
                            Path(tmp))
                    echo(f"{name}, concurrency {c}: served {rows[-1]['served_images_per_s']:.1f} "
                         f"img/s, in-process {rows[-1]['in_process_images_per_s']:.1f} img/s")
    return rows


def summarise(name, c, local, remote) -> dict:
    local_ips = local["images"] / local["seconds"]
    served_ips = remote["images"] / remote["seconds"]
    p50, p99 = percentile(remote["latencies"], 50), percentile(remote["latencies"], 99)
    return {"case": name, "concurrency": c, "requests": remote["images"] + remote["failed"],
            "in_process_images_per_s": local_ips, "served_images_per_s": served_ips,
            "ratio": served_ips / local_ips,
            "in_process_batch_p50_ms": 1000 * percentile(local["latencies"], 50),
            "served_p50_ms": 1000 * p50, "served_p99_ms": 1000 * p99, "p99_over_p50": p99 / p50,
            "failed": remote["failed"], "wrong": remote["wrong"], "rss_mib": remote["rss"]}


def print_perf_analyzer(rows: list[dict]) -> None:
    """perf_analyzer's numbers beside this script's client, cell by cell."""

    def cell(r, key):
        pa = r["perf_analyzer"]
        return "error: " + " ".join(pa["error"]) if "error" in pa else f"{pa[key]:.1f}"

    print_table("perf_analyzer (gRPC, random pixels of one size) vs this script's client",
                ("case", "conc.", "client img/s", "perf_analyzer img/s", "client p50 ms",
                 "perf_analyzer p50 ms", "client p99 ms", "perf_analyzer p99 ms"),
                [(r["case"], r["concurrency"], f"{r['served_images_per_s']:.1f}",
                  cell(r, "images_per_s"), f"{r['served_p50_ms']:.1f}", cell(r, "p50_ms"),
                  f"{r['served_p99_ms']:.1f}", cell(r, "p99_ms")) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width-mult", type=float, default=0.0625)
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests of the long cell (single 224, concurrency 16)")
    parser.add_argument("--requests-per-cell", type=int, default=200)
    parser.add_argument("--dense-requests", type=int, default=48)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="bound of every cell")
    parser.add_argument("--queue-delay-us", type=int, default=2000)
    parser.add_argument("--runtime", choices=tuple(RUNTIMES), default="onnxruntime",
                        help="the runner served and called in-process")
    parser.add_argument("--perf-analyzer", type=Path, metavar="PATH",
                        help="also measure with perf_analyzer (its binary or the tritonclient "
                             "2.51.0 wheel)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args)
    print_table(f"Triton (gRPC, python backend) vs in-process, VGG16 x{args.width_mult}",
                ("case", "conc.", "requests", "in-process img/s", "served img/s", "ratio",
                 "p50 ms", "p99 ms", "p99/p50", "failed", "wrong", "RSS MiB (200 -> end)"),
                [(r["case"], r["concurrency"], r["requests"], f"{r['in_process_images_per_s']:.1f}",
                  f"{r['served_images_per_s']:.1f}", f"{r['ratio']:.2f}",
                  f"{r['served_p50_ms']:.1f}", f"{r['served_p99_ms']:.1f}",
                  f"{r['p99_over_p50']:.2f}", r["failed"], r["wrong"],
                  " -> ".join(f"{m:.0f}" for m in r["rss_mib"])) for r in rows])
    if any("perf_analyzer" in r for r in rows):
        print_perf_analyzer(rows)
    cpu = cpu_info()
    echo(f"CPU: {cpu['model_name']} ({cpu['cpus']} CPUs); flags: {cpu['flags']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
