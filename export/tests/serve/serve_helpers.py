"""Fixtures of the serving tests: a real tritonserver (from the
nvidia-pytriton wheel) on 127.0.0.1, free ports, bounded waits, always
stopped by pid; skipped, saying why, only where the wheel or the python
backend's numpy 1.x folder is not installed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

#: The bound the served test models record (image height/width).
MAX_SIDE = 640
#: Long enough that concurrent requests meet in one batch.
QUEUE_DELAY_US = 100_000


def triton_missing() -> str | None:
    from vggzoo.errors import VggzooError
    from vggzoo_export.serve import environment

    try:
        environment.server_binary()
        environment.stub_path()
        environment.numpy1_site()
    except VggzooError as exc:
        return str(exc)
    return None


def predictions(path):
    return {p["path"]: p for p in json.loads(path.read_text())["predictions"]}


def assert_same_predictions(served_json, local_json):
    served, local = predictions(served_json), predictions(local_json)
    assert served.keys() == local.keys()
    for name, item in local.items():
        other = served[name]
        assert other["size"] == item["size"]
        assert [s["index"] for s in other["top"]] == [s["index"] for s in item["top"]]
        assert [s["name"] for s in other["top"]] == [s["name"] for s in item["top"]]
        for a, b in zip(other["top"], item["top"]):
            assert abs(a["probability"] - b["probability"]) <= 1e-5


@pytest.fixture(scope="session")
def triton_ready():
    reason = triton_missing()
    if reason:
        pytest.skip(f"the real Triton server cannot run here: {reason}")


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """Three images of different sizes and aspect ratios, as PNG files."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(240, 320), (300, 200), (256, 256)]):
        path = folder / f"photo{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def served(triton_ready, tiny_onnx, tmp_path_factory):
    """A server on a repository with the tiny VGG16 as python-backend models
    ``tiny`` (Q=256) and ``tiny_ms`` (Q=224,288)."""
    from vggzoo_export.serve.server import start_server
    from vggzoo_export.triton.python_model import write_python_model

    repo = tmp_path_factory.mktemp("served") / "repo"
    write_python_model(repo, tiny_onnx, name="tiny", max_batch=8, max_side=MAX_SIDE,
                       queue_delay_us=QUEUE_DELAY_US)
    write_python_model(repo, tiny_onnx, name="tiny_ms", max_batch=8, max_side=MAX_SIDE,
                       scales=[224, 288], queue_delay_us=1000)
    server = start_server(repo, timeout=120)
    try:
        assert server.states == {"tiny": "READY", "tiny_ms": "READY"}, server.log_tail()
        yield server
    finally:
        server.stop()
