"""bench/gpu.py cannot run without a GPU; its bookkeeping can be checked here."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_flops_per_image_are_the_paper_macs_doubled(bench):
    assert bench.flops_per_image("vgg16", 1.0, 224) == pytest.approx(2 * 15.47e9, rel=1e-3)
    # fully convolutional at 448: four times the conv work, a 8x8 (not 2x2) head map
    assert bench.flops_per_image("vgg16", 1.0, 448) > 4 * bench.flops_per_image("vgg16", 1.0, 224)


def test_ratios_use_the_same_workload_and_batch_of_the_reference(bench):
    rows = [bench.Row("eager-bf16", "224", 64, images_per_s=100.0, tflops=3.0),
            bench.Row("fast", "224", 64, images_per_s=250.0, tflops=7.5),
            bench.Row("fast", "224", 1, images_per_s=50.0, tflops=1.5),
            bench.Row("trt-fp16", "all", 0, note="skipped: tensorrt is not installed")]
    bench.fill_ratios(rows, peak=10.0)
    assert rows[1].vs_reference == 2.5 and rows[1].peak_fraction == 0.75
    assert rows[2].vs_reference is None            # no reference row at batch 1
    assert rows[3].peak_fraction is None and rows[3].vs_reference is None


def test_arguments(bench):
    args = bench.parse_args(["--smoke"])
    assert "fast-compile" not in args.backends.split(",")
    assert bench.parse_args([]).backends.split(",") == list(bench.BACKENDS)
    with pytest.raises(SystemExit):
        bench.parse_args(["--backends", "eager-fp32,tensorflow"])
