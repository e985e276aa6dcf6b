"""Where the Triton server and its python backend find what they need.

The ``tritonserver`` binary comes from the ``nvidia-pytriton`` wheel
(installed without its dependencies: it pins ``numpy<2``).  Known traps of
that binary, handled here:

* the python backend's stub must sit in ``backends/python/`` beside
  ``libtriton_python.so``; the wheel keeps one stub per Python version
  elsewhere, so :func:`backend_directory` links a backend folder together;
* ``LD_LIBRARY_PATH`` must list this interpreter's own ``LIBDIR`` before the
  wheel's ``nvidia_pytriton.libs`` (else the stub loads another Python
  library and models fail with an ``RLock`` error);
* the stub fails every response under numpy 2 ("output tensor shape does
  not match size of output"), so the models run with numpy 1.x from a folder
  of their own (:func:`numpy1_site`), put first on ``sys.path`` by each
  ``model.py`` (the stub ignores ``PYTHONPATH``; :func:`model_python_path`).
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
import sysconfig
from pathlib import Path

from vggzoo.errors import BackendUnavailableError

#: Environment variable naming the numpy 1.x folder (default: :data:`NUMPY1_DIR` in the venv).
NUMPY1_ENV = "VGGZOO_TRITON_NUMPY1"
NUMPY1_DIR = "vggzoo-triton-site"
#: Environment variable a server passes to ``model.py``: the ``sys.path`` entries to add.
PATH_ENV = "VGGZOO_TRITON_PYTHONPATH"
INSTALL_HINT = ("python -m pip install --no-deps nvidia-pytriton (it ships tritonserver; "
                "`make venv` does this)")


def distribution_dir() -> Path:
    """The ``tritonserver`` folder of the installed nvidia-pytriton wheel."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(f"no Triton server here: {INSTALL_HINT}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "tritonserver"
    if not (folder / "bin" / "tritonserver").is_file():
        raise BackendUnavailableError(f"{folder} has no bin/tritonserver: reinstall it, "
                                      f"{INSTALL_HINT}")
    return folder


def server_binary() -> Path:
    return distribution_dir() / "bin" / "tritonserver"


def stub_path() -> Path:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    stub = distribution_dir() / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise BackendUnavailableError(f"the Triton wheel has no python-backend stub for Python "
                                      f"{version}; use Python 3.8-3.13")
    return stub


def backend_directory(folder: Path) -> Path:
    """``folder/backends`` with ``python/`` linked from the wheel and the stub
    for this Python beside the backend library; returns ``folder/backends``."""
    source = distribution_dir() / "backends" / "python"
    target = folder / "backends" / "python"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        (target / name).symlink_to(source / name)
    (target / "triton_python_backend_stub").symlink_to(stub_path())
    return folder / "backends"


def libraries_dir() -> Path:
    return distribution_dir().parent.parent / "nvidia_pytriton.libs"


def numpy1_site() -> Path:
    """The folder holding numpy 1.x for the python backend."""
    folder = Path(os.environ.get(NUMPY1_ENV) or Path(sys.prefix) / NUMPY1_DIR)
    found = sorted(folder.glob("numpy-1.*.dist-info"))
    if not found:
        raise BackendUnavailableError(
            f"the Triton python backend needs numpy 1.x apart from this environment's numpy "
            f"(its stub fails every response under numpy 2), and {folder} has none: run "
            f"`{sys.executable} -m pip install --no-deps --target {folder} 'numpy<2'` "
            f"(`make venv` does this) or set {NUMPY1_ENV}")
    return folder


def model_python_path() -> list[str]:
    """``sys.path`` entries a ``model.py`` adds, first first: numpy 1.x, then
    this environment's site folders (their ``.pth`` files name editable
    installs) and the folders vggzoo and vggzoo-export are imported from."""
    import vggzoo
    import vggzoo_export

    folders = [str(numpy1_site()), *site.getsitepackages()]
    for package in (vggzoo, vggzoo_export):
        folders.append(str(Path(package.__file__).resolve().parent.parent))
    return list(dict.fromkeys(folders))


def server_environment() -> dict[str, str]:
    """The environment of a ``tritonserver`` process."""
    env = dict(os.environ)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (libdir, str(libraries_dir()), env.get("LD_LIBRARY_PATH", "")) if p)
    env[PATH_ENV] = os.pathsep.join(model_python_path())
    return env
