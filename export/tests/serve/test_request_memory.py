"""Each request is bounded by a memory estimate before anything is
allocated for it: one whose dense protocol would not fit in what the server
process may use gets a one-line error with the estimate and the limit, the
server stays up and answers the next request (the limit made small with
VGGZOO_MEMORY_LIMIT; the service the backend runs, and a real tritonserver)."""

import re

import numpy as np
import pytest

from vggzoo.errors import MemoryEstimateError
from vggzoo_export.errors import ServerError
from vggzoo_export.serve.client import TritonClient
from vggzoo_export.serve.service import DenseService

from serve_helpers import MAX_SIDE

#: Eight 300x600 images at Q=256 hold 25 MB of rescaled float32 pixels before
#: the network's activations for 16 views; one 240x320 image needs a few MB.
LIMIT = "64MiB"
SMALL, LARGE = np.zeros((1, 240, 320, 3), np.uint8), np.zeros((8, 300, 600, 3), np.uint8)


def test_the_service_refuses_a_request_that_would_not_fit_and_answers_the_next(tiny_onnx,
                                                                               monkeypatch):
    service = DenseService.open(tiny_onnx, scales=[256], max_side=MAX_SIDE, batch_size=16)
    monkeypatch.setenv("VGGZOO_MEMORY_LIMIT", LIMIT)
    good = service.posteriors(service.check(SMALL))
    assert good.shape == (1, 1000) and np.isfinite(good).all()
    with pytest.raises(MemoryEstimateError) as refused:
        service.check(LARGE)
    message = str(refused.value)
    assert "\n" not in message and "8 image(s) of 300x600" in message, message
    assert "needs about" in message and "may use 64 MiB (VGGZOO_MEMORY_LIMIT)" in message
    fits = int(re.search(r"send at most (\d+) image", message)[1])
    assert 1 <= fits < 8
    answer = service.posteriors(service.check(LARGE[:fits]))  # the advice holds
    assert answer.shape == (fits, 1000) and np.isfinite(answer).all()
    np.testing.assert_allclose(service.posteriors(service.check(SMALL)), good, atol=1e-6)


def test_not_even_one_image_fitting_says_what_would_help(tiny_onnx, monkeypatch):
    service = DenseService.open(tiny_onnx, scales=[256], max_side=MAX_SIDE)
    monkeypatch.setenv("VGGZOO_MEMORY_LIMIT", "1MiB")  # less than the network's weights
    with pytest.raises(MemoryEstimateError, match="not even one such image fits.*more memory"):
        service.check(SMALL)


def test_a_real_server_refuses_the_request_and_stays_up(triton_ready, tiny_onnx,
                                                        tmp_path, monkeypatch):
    from vggzoo_export.serve.server import start_server
    from vggzoo_export.triton.python_model import write_python_model

    repo = tmp_path / "repo"
    write_python_model(repo, tiny_onnx, name="tiny", max_batch=8, max_side=MAX_SIDE,
                       queue_delay_us=1000)
    monkeypatch.setenv("VGGZOO_MEMORY_LIMIT", LIMIT)  # the server's environment
    server = start_server(repo, timeout=120)
    try:
        assert server.states == {"tiny": "READY"}, server.log_tail()
        with TritonClient(f"grpc://{server.grpc_url}", "tiny") as client:
            good = client.posteriors(SMALL)
            with pytest.raises(ServerError,
                               match=r"8 image\(s\) of 300x600 needs about .* may use 64 MiB "
                                     r"\(VGGZOO_MEMORY_LIMIT\): send at most \d+ image"):
                client.posteriors(LARGE)
            assert server.running()
            np.testing.assert_allclose(client.posteriors(SMALL), good, atol=1e-6)
    finally:
        server.stop()
