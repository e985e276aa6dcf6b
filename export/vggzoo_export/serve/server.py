"""A real ``tritonserver`` process on 127.0.0.1, started and stopped by pid.

>>> with start_server("models", http_port=8000, grpc_port=8001) as server:
...     server.http_url, server.grpc_url, server.models()

The server gets its own process group, a private backend folder (see
:mod:`.environment`) and a log file; :meth:`TritonServer.stop` sends
SIGTERM, waits (bounded), then SIGKILLs whatever is left of the group (the
python-backend stubs included), so no process outlives it; the server also
gets SIGTERM when the process that started it dies.  A model that
fails to load does not stop the server (``--exit-on-error=false``): it is
reported with the reason Triton gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import ServerError

from . import environment

HOST = "127.0.0.1"
#: Prefix of each server's private folder (backend links, log, pid) in the temp folder.
WORKDIR_PREFIX = "vggzoo-triton-"
#: Seconds to wait for the server and its models to be ready.
DEFAULT_START_TIMEOUT = 120.0
#: Seconds to wait after SIGTERM before SIGKILL.
DEFAULT_STOP_TIMEOUT = 30.0
#: Seconds a stop waits for SIGKILLed stubs to be gone.
STUB_EXIT_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class TritonServer:
    """A running ``tritonserver`` and where it listens."""

    repository: Path
    http_port: int
    grpc_port: int
    process: subprocess.Popen
    workdir: Path
    log_path: Path
    #: Models and their state/reason after start (``READY`` or why not).
    states: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def http_url(self) -> str:
        return f"{HOST}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def index(self) -> list[dict]:
        """Triton's repository index (name, version, state, reason)."""
        request = urllib.request.Request(f"http://{self.http_url}/v2/repository/index",
                                         data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def models(self) -> list[str]:
        """Names of the models that are ready."""
        return sorted(n for n, s in self.states.items() if s == "READY")

    def statistics(self, model: str) -> dict:
        with urllib.request.urlopen(f"http://{self.http_url}/v2/models/{model}/stats",
                                    timeout=5) as answer:
            return json.loads(answer.read())

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL the process group;
        returns the server's exit code."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # stubs left behind, if any
        deadline = time.monotonic() + STUB_EXIT_TIMEOUT
        while _group_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # a killed stub lives on until the kernel has torn it down
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.process.returncode

    def __enter__(self) -> "TritonServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(repository: str | os.PathLike, *, http_port: int | None = None,
                 grpc_port: int | None = None, timeout: float = DEFAULT_START_TIMEOUT,
                 log_path: str | os.PathLike | None = None) -> TritonServer:
    """Start ``tritonserver`` on ``repository`` (free ports when not given)
    and wait until every model is loaded or has failed."""
    repository = Path(repository).resolve()
    if not repository.is_dir():
        raise ServerError(f"model repository {repository} is not a folder: export one with "
                          f"vggzoo-export MODEL --triton {repository} --backend python")
    binary = environment.server_binary()
    env = environment.server_environment()
    _remove_stale_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    backends = environment.backend_directory(workdir)
    log = Path(log_path) if log_path else workdir / "tritonserver.log"
    http_port, grpc_port = http_port or free_port(), grpc_port or free_port()
    command = [str(binary), f"--model-repository={repository}", f"--backend-directory={backends}",
               f"--http-address={HOST}", f"--grpc-address={HOST}", f"--http-port={http_port}",
               f"--grpc-port={grpc_port}", "--allow-metrics=false", "--exit-on-error=false",
               "--strict-readiness=false", "--log-verbose=0"]
    with open(log, "ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=_terminate_with_parent)
    (workdir / "pid").write_text(str(process.pid))
    server = TritonServer(repository, http_port, grpc_port, process, workdir, log)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _remove_stale_workdirs() -> None:
    """Private folders of servers that are gone (their starter was killed
    before it could remove them): removed by the next start."""
    for folder in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        try:
            pid = int((folder / "pid").read_text())
        except (OSError, ValueError):  # no pid yet: a server starting right now
            continue
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting for its parent does not)."""
    if not Path("/proc/self").exists():  # no procfs: only "exists" can be asked
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            pass
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _terminate_with_parent() -> None:
    """In the child before exec: SIGTERM when the starting process dies, so
    even a SIGKILLed ``vggzoo serve`` leaves no server behind (Linux)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_ready(server: TritonServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise ServerError(f"tritonserver exited with code {server.process.returncode} before "
                              f"it was ready; its log ends:\n{server.log_tail()}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            entries = server.index()
            if entries and all(e.get("state") in ("READY", "UNAVAILABLE") for e in entries):
                server.states = {e["name"]: e["state"] if e["state"] == "READY"
                                 else e.get("reason", "unavailable") for e in entries}
                return
            if not entries and _live(server):
                return
        time.sleep(0.25)
    raise ServerError(f"tritonserver was not ready after {timeout:.0f} s; its log ends:\n"
                      f"{server.log_tail()}")


def _live(server: TritonServer) -> bool:
    with urllib.request.urlopen(f"http://{server.http_url}/v2/health/live", timeout=2) as answer:
        return answer.status == 200
