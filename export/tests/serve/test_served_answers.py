"""A real tritonserver answers what a local ``vggzoo predict`` answers, over
HTTP and gRPC, and batches concurrent requests together."""

import threading
import time

import numpy as np
import pytest

from vggzoo.cli import main as vggzoo_main
from vggzoo.data.images import read_image
from vggzoo_export.serve.client import TritonClient

from serve_helpers import assert_same_predictions


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_server_answers_equal_local_dense_predict(served, tiny_onnx, photos, tmp_path, scheme,
                                                   capsys):
    url = f"{scheme}://{served.grpc_url if scheme == 'grpc' else served.http_url}"
    paths = [str(p) for p in photos]
    assert vggzoo_main(["predict", *paths, "--onnx", str(tiny_onnx), "--protocol", "dense",
                        "--json", str(tmp_path / "local.json"), "--no-progress"]) == 0
    local_table = capsys.readouterr().out
    assert vggzoo_main(["predict", *paths, "--server", url, "--server-model", "tiny",
                        "--json", str(tmp_path / "served.json"), "--no-progress"]) == 0
    served_table = capsys.readouterr().out
    assert_same_predictions(tmp_path / "served.json", tmp_path / "local.json")
    # The same tables, class names (labels of the 1000 ImageNet classes) included.
    assert served_table.split("image(s)")[0] == local_table.split("image(s)")[0]
    assert "scales [256]" in served_table and "protocol dense" in served_table


def test_multi_scale_model_equals_local_multi_scale_predict(served, tiny_onnx, photos, tmp_path):
    paths = [str(p) for p in photos]
    assert vggzoo_main(["predict", *paths, "--onnx", str(tiny_onnx), "--scales", "224,288",
                        "--json", str(tmp_path / "local.json"), "--no-progress"]) == 0
    assert vggzoo_main(["predict", *paths, "--server", f"grpc://{served.grpc_url}",
                        "--server-model", "tiny_ms", "--csv", str(tmp_path / "s.csv"),
                        "--no-progress"]) == 0
    assert vggzoo_main(["predict", *paths, "--server", f"grpc://{served.grpc_url}",
                        "--server-model", "tiny_ms", "--json", str(tmp_path / "served.json"),
                        "--no-progress"]) == 0
    assert_same_predictions(tmp_path / "served.json", tmp_path / "local.json")
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "path,rank,index,class,probability"


def test_concurrent_requests_run_as_one_batch(served, photos):
    pixels = [read_image(p).permute(1, 2, 0).numpy()[None] for p in photos] * 2
    with TritonClient(f"grpc://{served.grpc_url}", "tiny") as client:
        expected = [client.posteriors(x) for x in pixels]
    before = served.statistics("tiny")["model_stats"][0]
    start = threading.Barrier(len(pixels))
    answers = [None] * len(pixels)

    errors = []

    def send(i):
        try:
            with TritonClient(f"grpc://{served.grpc_url}", "tiny") as client:  # one per thread
                start.wait(timeout=120)
                answers[i] = client.posteriors(pixels[i])
        except Exception as exc:  # noqa: BLE001 - reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(pixels))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert errors == [] and all(a is not None for a in answers), errors
    deadline = time.monotonic() + 10  # the statistics may trail the last answer a little
    while True:
        after = served.statistics("tiny")["model_stats"][0]
        done = int(after["inference_count"]) - int(before["inference_count"])
        if done >= len(pixels) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert done == len(pixels)
    executions = int(after["execution_count"]) - int(before["execution_count"])
    assert executions < len(pixels), "no two concurrent requests were executed together"
    assert max(int(b["batch_size"]) for b in after["batch_stats"]) > 1
    for got, want in zip(answers, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
