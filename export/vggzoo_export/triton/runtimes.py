"""Which of vggzoo's runners a python-backend model runs its file on.

``--triton-runtime`` (``vggzoo-export``) and ``--runtime`` (``vggzoo serve``)
choose it; the config records the runner and its options (``runner``,
``runner_options``), and :class:`vggzoo_export.serve.backend_model.TritonPythonModel`
opens the file with :func:`vggzoo.runtime.open_file` on exactly that runner:
the same code ``vggzoo predict --backend RUNNER --onnx FILE`` runs.  int8 is
not a runtime but a file: ``vggzoo-export ... --int8 --calibrate DIR`` writes
the QDQ network, and either runtime serves it.

A runtime that is not installed is refused here, at export time, in one
line, instead of a model that fails to load in the server.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from vggzoo.errors import BackendUnavailableError, OptionError


@dataclass(frozen=True)
class Runtime:
    #: The registered runner (``vggzoo.runtime.create_runner`` name).
    runner: str
    #: The runner's options the server opens the file with.
    options: dict = field(default_factory=dict)
    #: The module the runner needs, and how to install it.
    module: str = ""
    install: str = ""


#: The runtimes a python-backend model can serve with: CPU settings, since the
#: bundled server runs on the CPU.
RUNTIMES: dict[str, Runtime] = {
    "onnxruntime": Runtime("onnxruntime", {"providers": "cpu"}, "onnxruntime",
                           "pip install onnxruntime"),
    "openvino": Runtime("openvino", {"device": "cpu", "hint": "latency"}, "openvino",
                        "pip install openvino ./plugins/vggzoo-openvino"),
}
DEFAULT_RUNTIME = "onnxruntime"


def check_runtime(name: str, flag: str = "--triton-runtime") -> Runtime:
    """The runtime ``name``, if it is known and installed here (the server
    runs in this environment), else a one-line error naming the fix."""
    from vggzoo.plugins.registry import RUNNERS

    runtime = RUNTIMES.get(name)
    if runtime is None:
        raise OptionError(f"unknown {flag} {name!r}: choose one of "
                          f"{', '.join(RUNTIMES)}")
    missing = f"{flag} {name} is not installed here (the server runs in this " \
              f"environment): {runtime.install}"
    if runtime.runner not in RUNNERS.names():
        raise BackendUnavailableError(missing)
    try:  # imported, not only found: a broken install fails here, not in the server
        importlib.import_module(runtime.module)
    except ImportError as exc:
        raise BackendUnavailableError(f"{missing} ({exc})") from None
    return runtime
