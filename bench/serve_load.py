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

Usage: ``python bench/serve_load.py [--width-mult 0.0625] [--requests 2000]
[--json out.json]``.  Random weights (speed does not depend on them); a
narrow VGG16 by default so that the run fits a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
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
from vggzoo_export.serve.server import start_server
from vggzoo_export.serve.service import DenseService
from vggzoo_export.triton.python_model import write_python_model

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
        for name, case in CASES.items():
            model = name.split()[0]
            write_python_model(repo, onnx, name=model, scales=case["scales"], flip=case["flip"],
                               max_batch=16, queue_delay_us=args.queue_delay_us)
            services[name] = DenseService.open(onnx, scales=case["scales"], flip=case["flip"],
                                               batch_size=32, providers="cpu")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width-mult", type=float, default=0.0625)
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests of the long cell (single 224, concurrency 16)")
    parser.add_argument("--requests-per-cell", type=int, default=200)
    parser.add_argument("--dense-requests", type=int, default=48)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="bound of every cell")
    parser.add_argument("--queue-delay-us", type=int, default=2000)
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
    cpu = cpu_info()
    echo(f"CPU: {cpu['model_name']} ({cpu['cpus']} CPUs); flags: {cpu['flags']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
