"""``vggzoo serve`` stops cleanly on SIGINT/SIGTERM (exit 0, no process
left, the repository intact); a server killed with SIGKILL and started
again serves the same answers."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from vggzoo.data.images import read_image
from vggzoo_export.serve.client import TritonClient
from vggzoo_export.serve.server import WORKDIR_PREFIX, start_server
from vggzoo_export.triton.python_model import write_python_model

VGGZOO = Path(sys.executable).with_name("vggzoo")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_for_line(process, pattern, timeout=180):
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r} in time; output: {''.join(seen)}")


def vggzoo_serve(model, repo, *options):
    """``vggzoo serve`` as a user starts it, on ports the OS picks."""
    return subprocess.Popen(
        [str(VGGZOO), "serve", str(model), "--repository", str(repo), *options,
         "--http-port", "0", "--grpc-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM])  # SIGINT: the same handler
def test_vggzoo_serve_stops_cleanly(triton_ready, tiny_onnx, photos, tmp_path, stop_signal):
    repo = tmp_path / "repo"
    process = vggzoo_serve(tiny_onnx, repo, "--name", "tiny")
    try:
        lines = "".join(wait_for_line(process, "stop with"))
        pid = int(re.search(r"Triton server pid (\d+)", lines).group(1))
        grpc = re.search(r"gRPC\s+(grpc://127\.0\.0\.1:\d+)", lines).group(1)
        assert "model tiny: READY" in lines
        with TritonClient(grpc, "tiny") as client:
            probs = client.posteriors(read_image(photos[0]).permute(1, 2, 0).numpy()[None])
        assert probs.shape == (1, 1000) and abs(float(probs.sum()) - 1) < 1e-4
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 0
        assert "stopped (tritonserver exit code 0)" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert group_members(pid) == []                      # server and stubs are gone
    assert sorted(p.name for p in (repo / "tiny").iterdir()) == ["1", "config.pbtxt",
                                                                 "labels.txt"]


def test_sigkill_and_restart_serve_the_same_answers(triton_ready, tiny_onnx, photos, tmp_path):
    repo = tmp_path / "repo"
    write_python_model(repo, tiny_onnx, name="tiny", max_batch=4)
    pixels = read_image(photos[1]).permute(1, 2, 0).numpy()[None]
    server = start_server(repo)
    try:
        with TritonClient(f"grpc://{server.grpc_url}", "tiny") as client:
            before = client.posteriors(pixels)
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(30)
    finally:
        server.stop()
    assert group_members(server.pid) == []
    again = start_server(repo)
    try:
        with TritonClient(f"http://{again.http_url}", "tiny") as client:
            np.testing.assert_allclose(client.posteriors(pixels), before, atol=1e-6)
    finally:
        again.stop()


def test_a_killed_vggzoo_serve_leaves_no_server(triton_ready, tiny_onnx, tmp_path):
    process = vggzoo_serve(tiny_onnx, tmp_path / "repo")
    try:
        lines = "".join(wait_for_line(process, "stop with"))
        pid = int(re.search(r"Triton server pid (\d+)", lines).group(1))
    finally:
        process.kill()
        process.wait(30)
    deadline = time.monotonic() + 60
    while group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert group_members(pid) == []
    # Its private folder outlived it; the next server start removes it.
    left = [f for f in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*")
            if (f / "pid").is_file() and (f / "pid").read_text() == str(pid)]
    assert len(left) == 1
    write_python_model(tmp_path / "repo2", tiny_onnx, name="tiny", max_batch=2)
    start_server(tmp_path / "repo2").stop()
    assert not left[0].exists()
