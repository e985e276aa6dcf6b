"""``vggzoo predict --server``: a server that is down or does not answer in
time, a bad URL and local-only options are one-line errors (exit 2)."""

import socket

import pytest

from vggzoo.cli import main as vggzoo_main
from vggzoo_export.serve.server import free_port


def one_line_error(capsys, *argv):
    code = vggzoo_main(["predict", *argv, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_server_down_is_one_line(photos, capsys, scheme):
    err = one_line_error(capsys, str(photos[0]), "--server", f"{scheme}://127.0.0.1:{free_port()}",
                         "--timeout", "5")
    assert f"{scheme}://127.0.0.1:" in err


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_server_that_never_answers_times_out_in_one_line(photos, capsys, scheme):
    with socket.socket() as silent:             # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        err = one_line_error(capsys, str(photos[0]), "--server", f"{scheme}://127.0.0.1:{port}",
                             "--timeout", "1")
    assert f"127.0.0.1:{port}" in err


def test_bad_url_and_local_options_are_refused(photos, capsys):
    err = one_line_error(capsys, str(photos[0]), "--server", "ftp://127.0.0.1:1")
    assert "grpc://HOST:PORT or http://HOST:PORT" in err
    err = one_line_error(capsys, str(photos[0]), "--server", "grpc://127.0.0.1:1",
                         "--scales", "256,384")
    assert "--scales cannot be used with --server" in err
    err = one_line_error(capsys, str(photos[0]), "--server", "grpc://127.0.0.1:1",
                         "--onnx", "model.onnx")
    assert "--onnx cannot be used with --server" in err
