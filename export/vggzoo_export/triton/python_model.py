"""A Triton ``python``-backend model: the paper's dense protocol on the server.

``vggzoo-export ... --triton REPO --backend python`` writes::

    REPO/NAME/config.pbtxt       uint8 image (H, W, 3) in, posteriors (K) out
    REPO/NAME/labels.txt         class names, one a line
    REPO/NAME/1/model.py         puts vggzoo on sys.path, imports its model class
    REPO/NAME/1/model.onnx       the exported network (fp32, or int8 from --int8), run by
                                 the runner --triton-runtime chose (:mod:`.runtimes`)
    REPO/NAME/1/manifest.json    SHA-256 of the version's files, checked at load

The client sends decoded pixels; the server rescales, normalises and runs
the dense protocol with flips at the test scales recorded here (the
weights' own, or ``--scales``), the same code as ``vggzoo predict``
(:mod:`vggzoo_export.serve.service`).  Requests of any size are batched
together (ragged batching); the image bound (``max_side``) is recorded in
the config and enforced per request.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from vggzoo.errors import BackendUnavailableError, OptionError

from ..core.contract import IMAGE_NAME, POSTERIORS_NAME
from ..core.integrity import sha256_file
from ..core.metadata import read_onnx_metadata
from ..serve.backend_model import MANIFEST
from ..serve.service import DEFAULT_MAX_SIDE
from .files import FACTS_PARAMETER, files_to_copy
from .runtimes import DEFAULT_RUNTIME, check_runtime
from .staging import check_model_name, staged_model

MODEL_FILE = "model.onnx"
#: How long the dynamic batcher waits to fill a batch (microseconds).
DEFAULT_PYTHON_QUEUE_DELAY_US = 2000

_MODEL_PY = '''"""Triton python-backend model written by vggzoo-export for {name}.

The stub ignores PYTHONPATH: put numpy 1.x (the stub fails under numpy 2) and
vggzoo's environment on sys.path, from {env} (set by `vggzoo serve`) or the
exporting environment's folders below, then serve vggzoo's own model class.
"""
import os
import site
import sys

EXPORTED_PATH = {paths!r}


def _extend_path():
    given = os.environ.get({env!r})
    folders = given.split(os.pathsep) if given else EXPORTED_PATH
    before = list(sys.path)
    for folder in folders:
        site.addsitedir(folder)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = [*folders[:1], *added, *[p for p in before if p not in added]]


_extend_path()
from vggzoo_export.serve.backend_model import TritonPythonModel  # noqa: E402,F401
'''


def render_python_config(name: str, *, num_classes: int, labelled: bool, max_batch: int,
                         scales: Sequence[int], max_side: int, queue_delay_us: int,
                         model: str, preprocessing: dict, classes: Sequence[str] | None = None,
                         flip: bool = True, instances: int = 1,
                         runtime: str = DEFAULT_RUNTIME, precision: str = "fp32",
                         facts: dict | None = None) -> str:
    """The ``config.pbtxt`` of a python-backend model: what it serves
    (file, precision, runner and its options) and the model's facts record,
    as ``parameters`` clients can read."""
    label = f' label_filename: "labels.txt"' if labelled else ""
    chosen = check_runtime(runtime)
    params = {"protocol": "dense", "flip": "true" if flip else "false",
              "scales": json.dumps(list(scales)),
              "max_side": str(max_side), "model_file": MODEL_FILE, "precision": precision,
              "runner": chosen.runner,
              "runner_options": json.dumps(chosen.options), "model": model,
              "preprocessing": json.dumps(preprocessing),
              "classes": json.dumps(list(classes) if classes else None)}
    if facts is not None:
        params[FACTS_PARAMETER] = json.dumps(facts, sort_keys=True)
    lines = [
        f"# Triton python-backend model {name}, written by vggzoo-export.",
        "# Input: one decoded RGB image as uint8 pixels (H, W, 3), any size up to",
        f"#   {max_side} pixels a side; the server rescales, normalises and runs the",
        f"#   paper's dense protocol {'with' if flip else 'without'} flips at test scales "
        f"{list(scales)}.",
        "# Output: the (K) class posteriors, averaged over scales and flips.",
        f"# Runs {MODEL_FILE} ({precision}) on vggzoo's {chosen.runner} runner.",
        f'name: "{name}"',
        'backend: "python"',
        f"max_batch_size: {max_batch}",
        f'input {{ name: "{IMAGE_NAME}" data_type: TYPE_UINT8 dims: [ -1, -1, 3 ] '
        f"allow_ragged_batch: true }}",
        f'output {{ name: "{POSTERIORS_NAME}" data_type: TYPE_FP32 dims: [ {num_classes} ]'
        f"{label} }}",
        f"dynamic_batching {{ max_queue_delay_microseconds: {queue_delay_us} }}",
        f"instance_group [ {{ kind: KIND_CPU count: {instances} }} ]",
    ]
    for key, value in params.items():
        lines.append(f"parameters {{ key: \"{key}\" value: {{ string_value: {json.dumps(value)} }} }}")
    return "\n".join(lines) + "\n"


def test_scales(model_file: str | os.PathLike, scales: Sequence[int] | None,
                multi_scale: bool) -> list[int]:
    """The scales ``vggzoo predict --onnx FILE`` would use: vggzoo's one
    test-scale rule (:func:`vggzoo.data.scales.choose_test_scales`) on the
    file's recorded training scale."""
    from vggzoo.data.scales import choose_test_scales

    meta = read_onnx_metadata(model_file)
    return choose_test_scales(list(scales) if scales else None, meta.facts.train_scale,
                              multi_scale=multi_scale, min_scale=meta.min_input_size).scales


def write_python_model(repo: str | os.PathLike, model_file: str | os.PathLike, *,
                       name: str | None = None, max_batch: int, scales: Sequence[int] | None = None,
                       multi_scale: bool = False, max_side: int = DEFAULT_MAX_SIDE,
                       queue_delay_us: int = DEFAULT_PYTHON_QUEUE_DELAY_US, flip: bool = True,
                       version: int = 1, runtime: str = DEFAULT_RUNTIME) -> Path:
    """Write the python-backend model for an exported ONNX network, fp32 or
    int8 (staged, renamed into place whole); returns the config path.
    ``runtime`` is the runner the server opens it with (:data:`.runtimes.RUNTIMES`).
    ``flip=False`` leaves out the flipped pass (a 224x224 image at Q=224 is
    then one single-crop pass)."""
    from ..serve.environment import model_python_path

    source = Path(model_file)
    meta = read_onnx_metadata(source)
    if meta.is_protocol_graph:
        raise OptionError(f"{source} is a whole-protocol graph: serve the network file it was "
                          f"built from (the server runs the protocol itself)")
    name = check_model_name(name or meta.model)
    check_runtime(runtime)
    chosen = test_scales(source, scales, multi_scale)
    if max_side < max(chosen) or int(max_side) != max_side:
        raise OptionError(f"--triton-max-side must be an integer of at least the largest test "
                          f"scale {max(chosen)}, got {max_side}")
    try:
        paths = model_python_path()
    except BackendUnavailableError:  # no numpy 1.x here: the serving machine's env var says
        paths = []
    config = render_python_config(
        name, num_classes=meta.num_classes, labelled=bool(meta.classes), max_batch=max_batch,
        scales=chosen, max_side=int(max_side), queue_delay_us=queue_delay_us, model=meta.model,
        preprocessing=meta.preprocessing.as_dict(), classes=meta.classes, flip=flip,
        runtime=runtime, precision=str(meta.config.get("precision", "fp32")),
        facts=meta.facts.as_dict())
    with staged_model(repo, name) as folder:
        version_dir = folder / str(version)
        version_dir.mkdir()
        copied = files_to_copy(source, version_dir / MODEL_FILE, "onnxruntime")
        for src, dst in copied:  # the network and its external-data files, if any
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        from ..serve.environment import PATH_ENV

        (version_dir / "model.py").write_text(_MODEL_PY.format(name=name, env=PATH_ENV,
                                                               paths=paths))
        names = [str(dst.relative_to(version_dir)) for _, dst in copied] + ["model.py"]
        digests = {n: sha256_file(version_dir / n) for n in names}
        (version_dir / MANIFEST).write_text(json.dumps(digests, indent=2) + "\n")
        if meta.classes:
            (folder / "labels.txt").write_text(
                "".join(c.replace("\n", " ") + "\n" for c in meta.classes))
        (folder / "config.pbtxt").write_text(config)
    return Path(repo) / name / "config.pbtxt"
