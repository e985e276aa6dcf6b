"""Sizes that would exhaust the machine are refused before anything is
allocated: test scales of predict and eval (given, or derived from a
recorded training scale), export parity sizes, int8 calibration scales,
benchmark sizes and the dense protocol graph's scales.  Every refused case
runs in a subprocess under a hard address-space limit
(:mod:`memory_limit`), so a regression fails here with a MemoryError
instead of growing until the kernel kills something."""

import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo.runtime.memory import (LIMIT_ENV, MemoryEstimateError, forward_bytes, memory_limit,
                                   network_shape, parse_bytes, require_fits)

from memory_limit import assert_refused, run_limited, suggested

#: What the audit found: Q = 30000 on an 8x8 image grew to 21 GB.
HUGE = 30000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An 8x8 PNG, a folder of labelled images, tiny weights (3 classes)
    with a normal and an absurd recorded training scale, and their ONNX
    export."""
    root = tmp_path_factory.mktemp("memory")
    Image.new("RGB", (8, 8), (200, 30, 40)).save(root / "small.png")
    for name in ("a", "b", "c"):
        (root / "data" / name).mkdir(parents=True)
        Image.new("RGB", (240, 230), (40, 90, 200)).save(root / "data" / name / "x.png")
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH)
    facts = {"model": "vgg11", "width_mult": str(TINY_WIDTH), "num_classes": "3"}
    vggzoo.save_weights(model, root / "w.safetensors", metadata={**facts, "train_scale": "256"})
    vggzoo.save_weights(model, root / "s4096.safetensors",
                        metadata={**facts, "train_scale": "4096"})
    from vggzoo_export.onnx.export import export_onnx

    export_onnx(model, root / "w.onnx")
    return root


def test_predict_at_a_huge_scale_is_refused_and_the_suggested_scale_runs(files):
    out = files / "refused.json"
    line = assert_refused(run_limited(["vggzoo", "predict", str(files / "small.png"), "--weights",
                                       str(files / "w.safetensors"), "--scales", str(HUGE),
                                       "--json", str(out)]),
                          f"test scale {HUGE}", "RLIMIT_AS", "--scales")
    assert not out.exists()
    fits = suggested(line, "--scales")
    assert 224 <= fits < HUGE
    # What the refusal promises holds under the same hard limit.
    ok = run_limited(["vggzoo", "predict", str(files / "small.png"), "--weights",
                      str(files / "w.safetensors"), "--scales", str(fits), "--no-flip"])
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert f"scales [{fits}]" in ok.stdout


#: A recorded S=4096 passes the metadata check (224-4096) but its test
#: scales need more than this limit (a bound the metadata check cannot know).
SMALL_LIMIT = {"VGGZOO_MEMORY_LIMIT": "200MiB"}


def test_a_recorded_training_scale_is_refused_without_any_flag(files):
    assert_refused(run_limited(["vggzoo", "predict", str(files / "small.png"), "--weights",
                                str(files / "s4096.safetensors")], env=SMALL_LIMIT),
                   "from the training scale S=4096", "--scales")


def test_eval_is_refused_before_reading_the_images(files):
    assert_refused(run_limited(["vggzoo", "eval", "--weights", str(files / "s4096.safetensors"),
                                "--data", str(files / "data"), "--multi-scale"], env=SMALL_LIMIT),
                   "from the training scale S=4096")


API = """
import sys, vggzoo
from vggzoo.runtime.memory import MemoryEstimateError
model = vggzoo.create("vgg11", num_classes=3, width_mult={width})
refused = []
for call in {calls!r}:
    try:
        exec(call)
    except MemoryEstimateError as exc:
        refused.append(str(exc))
print(len(refused))
print("\\n".join(refused))
"""

#: Every API path that allocates by size, each asked for too much.
API_CALLS = [
    "vggzoo.predict([{small!r}], weights={w!r}, scales=[30000])",
    "vggzoo.predict([{small!r}], weights={w!r}, scales=[30000], protocol='multicrop')",
    "vggzoo.evaluate(weights={w!r}, data={data!r}, scales=[30000], protocol='single')",
    "from vggzoo_export.onnx.export import export_onnx; "
    "export_onnx(model, {out!r}, parity_sizes=[(224, 224), (30000, 30000)])",
    "from vggzoo_export.protocol.graph import export_protocol_graph; "
    "export_protocol_graph({onnx!r}, {out!r}, scales=[256, 30000])",
]


def test_the_api_raises_a_memory_estimate_error_on_every_path(files, tmp_path):
    calls = [c.format(small=str(files / "small.png"), w=str(files / "w.safetensors"),
                      s=str(files / "s4096.safetensors"), data=str(files / "data"),
                      out=str(tmp_path / "out.onnx"), onnx=str(files / "w.onnx"))
             for c in API_CALLS]
    proc = run_limited(["python", "-c", API.format(width=TINY_WIDTH, calls=calls)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, *messages = proc.stdout.strip().splitlines()
    assert int(count) == len(API_CALLS), proc.stdout
    for m in messages:
        assert "needs about" in m and "or smaller" in m, m
    assert not (tmp_path / "out.onnx").exists()


def test_int8_calibration_scales_are_refused_before_calibrating(files, tmp_path):
    for i in range(6):
        Image.new("RGB", (240, 230), (i * 40, 90, 200)).save(tmp_path / f"{i}.png")
    assert_refused(run_limited(["vggzoo-export", "vgg11", "--weights",
                                str(files / "w.safetensors"), "--int8", "--calibrate",
                                str(tmp_path), "--calibration-images", "2",
                                "--calibration-scales", f"224,{HUGE}",
                                "-o", str(tmp_path / "q.int8.onnx")]),
                   "int8 calibration at scale 30000", "--calibration-scales")
    assert not (tmp_path / "q.int8.onnx").exists()


def test_bench_sizes_are_refused_before_inputs_are_made(files, tmp_path):
    line = assert_refused(run_limited(["vggzoo-export", "bench", str(files / "w.onnx"),
                                       "--sizes", f"224,{HUGE}", "--batch", "1,4"]),
                          "benchmarking at 30000x30000 (batch 4", "--sizes")
    assert suggested(line, "--sizes/--dense") < HUGE


def test_the_estimate_grows_with_size_batch_and_width_and_counts_vgg16_weights():
    vgg16 = network_shape("vgg16")
    # VGG16 holds 138.4 M parameters (the paper's Table 2: 138 M), 4 bytes each.
    assert forward_bytes(vgg16, 1, 1, batch=0) == pytest.approx(138.36e6 * 4, rel=1e-3)
    base = forward_bytes(vgg16, 224, 224, batch=1)
    assert forward_bytes(vgg16, 448, 448, batch=1) > base
    assert forward_bytes(vgg16, 224, 224, batch=2) > base
    assert forward_bytes(network_shape("vgg16", width_mult=TINY_WIDTH), 224, 224) < base
    # The largest layer at 224: conv1_2, 64 channels in and out, 224x224, fp32.
    activations = base - forward_bytes(vgg16, 1, 1, batch=0)
    assert activations >= 2 * 64 * 224 * 224 * 4


def test_the_limit_is_the_environment_bound_when_it_is_tighter(monkeypatch):
    monkeypatch.setenv(LIMIT_ENV, "1GiB")
    assert memory_limit().bytes == 2 ** 30 and memory_limit().source == LIMIT_ENV
    with pytest.raises(MemoryEstimateError, match=r"needs about 2\.0 GiB but this process may "
                                                  r"use 1\.0 GiB \(VGGZOO_MEMORY_LIMIT\): use "
                                                  r"--scales 700 or smaller"):
        require_fits("work", lambda q: q * (2 ** 30 // 700), 1400, option="--scales")
    assert parse_bytes("512MiB") == 512 * 2 ** 20 and parse_bytes("2e9") == 2 * 10 ** 9
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(vggzoo.VggzooError, match="VGGZOO_MEMORY_LIMIT='lots'"):
        memory_limit()
