"""Bad requests never take the server down: each gets a clear error, and
the next good request is answered correctly."""

import http.client
import json
import socket

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from vggzoo.data.images import read_image
from vggzoo_export.serve.client import TritonClient

from serve_helpers import MAX_SIDE


@pytest.fixture(scope="module")
def good(served, photos):
    """A good request and its answer, made before any bad one."""
    pixels = read_image(photos[0]).permute(1, 2, 0).numpy()[None]
    with TritonClient(f"grpc://{served.grpc_url}", "tiny") as client:
        return pixels, client.posteriors(pixels)


def infer_raw(served, array, datatype, model="tiny"):
    client = grpcclient.InferenceServerClient(served.grpc_url)
    try:
        tensor = grpcclient.InferInput("image", list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        return client.infer(model, [tensor], client_timeout=60)
    finally:
        client.close()


def assert_still_answers(served, good):
    pixels, expected = good
    assert served.running()
    with TritonClient(f"grpc://{served.grpc_url}", "tiny") as client:
        np.testing.assert_allclose(client.posteriors(pixels), expected, atol=1e-6)


CASES = {
    "wrong dtype": (np.zeros((1, 240, 320, 3), np.float32), "FP32", "tiny", "data-type is .FP32., but model .tiny. expects .UINT8."),
    "wrong rank": (np.zeros((1, 320, 3), np.uint8), "UINT8", "tiny", "shape"),
    "batch too large": (np.zeros((9, 240, 320, 3), np.uint8), "UINT8", "tiny",
                        "batch-size must be <= 8"),
    "zero-sized": (np.zeros((1, 0, 320, 3), np.uint8), "UINT8", "tiny", "empty|shape"),
    "oversized": (np.zeros((1, MAX_SIDE + 1, 300, 3), np.uint8), "UINT8", "tiny",
                  f"at most {MAX_SIDE} pixels a side"),
    "extreme aspect": (np.zeros((1, 20, 600, 3), np.uint8), "UINT8", "tiny", "aspect ratio"),
    "four channels": (np.zeros((1, 240, 320, 4), np.uint8), "UINT8", "tiny", "shape"),
    "unknown model": (np.zeros((1, 240, 320, 3), np.uint8), "UINT8", "nope",
                      "unknown model|not found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_tensor_gets_an_error_and_the_server_stays_up(served, good, case):
    array, datatype, model, message = CASES[case]
    with pytest.raises(InferenceServerException, match=message):
        infer_raw(served, array, datatype, model)
    assert_still_answers(served, good)


def test_malformed_http_body_gets_an_error(served, good):
    host, port = served.http_url.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", "/v2/models/tiny/infer", body=b'{"inputs": [{"name": ',
                           headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        assert answer.status >= 400
        assert "JSON" in json.loads(answer.read())["error"]
    finally:
        connection.close()
    assert_still_answers(served, good)


def test_client_disconnecting_mid_request(served, good):
    host, port = served.http_url.split(":")
    header = {"inputs": [{"name": "image", "shape": [1, 240, 320, 3], "datatype": "UINT8",
                          "parameters": {"binary_data_size": 240 * 320 * 3}}]}
    body = json.dumps(header).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     + f"Inference-Header-Content-Length: {len(body)}\r\n".encode()
                     + f"Content-Length: {len(body) + 240 * 320 * 3}\r\n\r\n".encode()
                     + body + b"\0" * 1000)   # most of the pixels never come
    assert_still_answers(served, good)
