"""The ``tensorrt`` exporter: an engine (+ JSON sidecar) from a vggzoo ONNX
file, behind the :class:`vggzoo.plugins.exporters.Exporter` contract.

``vggzoo-export MODEL --trt`` exports the fp32 ONNX network, then calls
:func:`export_tensorrt` with it; :func:`check_tensorrt` runs first, before
anything is exported, so malformed profiles and a missing ``tensorrt``
package fail at once.  For fp16/bf16 the fresh engine is compared with fp32
ONNX Runtime on the sample photos (:func:`.check.check_engine`); the
agreement is logged, stored in the sidecar and returned in the report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.contract import DEFAULT_MAX_BATCH
from vggzoo.plugins.exporters import ExportReport
from .builder import DEFAULT_WORKSPACE
from .profiles import DEFAULT_MAX_ASPECT, plan_profiles


def check_tensorrt(output: Path, /, *, scales: str | Sequence[int] | None = None,
                   max_batch: int = DEFAULT_MAX_BATCH, max_aspect: float = DEFAULT_MAX_ASPECT,
                   min_shape: str | None = None, opt_shape: str | None = None,
                   max_shape: str | None = None) -> None:
    """Fail before any work: the profile options, then TensorRT itself
    (its error names the package and the install command)."""
    from .availability import import_tensorrt

    plan_profiles(scales=scales, max_batch=max_batch, max_aspect=max_aspect,
                  min_shape=min_shape, opt_shape=opt_shape, max_shape=max_shape)
    import_tensorrt()


def export_tensorrt(onnx_path: str | os.PathLike, output: str | os.PathLike, /, *,
                    precision: str = "fp32", scales: str | Sequence[int] | None = None,
                    max_batch: int = DEFAULT_MAX_BATCH, max_aspect: float = DEFAULT_MAX_ASPECT,
                    min_shape: str | None = None, opt_shape: str | None = None,
                    max_shape: str | None = None,
                    workspace: int | str = f"{DEFAULT_WORKSPACE >> 30}GiB",
                    timing_cache: str | os.PathLike | None = None,
                    log: Callable[[str], None] = lambda _msg: None) -> ExportReport:
    """Build the engine ``output`` (+ ``output.json``) from the fp32 ONNX
    file ``onnx_path`` with profiles from ``scales`` (default: the test
    scales of the model's recorded training scale, see
    :func:`.profiles.plan_profiles`; or one explicit
    ``min_shape``/``opt_shape``/``max_shape``) in ``precision``.

    >>> export_tensorrt("vgg16.onnx", "vgg16.plan", precision="fp16").agreement.top1_agreement
    1.0
    """
    from ..core.metadata import read_onnx_metadata
    from .availability import import_tensorrt
    from .builder import build_engine
    from .sidecar import sidecar_path, write_sidecar

    start = time.perf_counter()
    # the runner needs the file's vggzoo metadata: refuse a foreign file before building
    metadata = read_onnx_metadata(onnx_path)
    profiles, recorded = plan_profiles(scales=scales, max_batch=max_batch, max_aspect=max_aspect,
                                       min_shape=min_shape, opt_shape=opt_shape,
                                       max_shape=max_shape,
                                       train_scale=metadata.facts.train_scale,
                                       channels=metadata.facts.in_chans)
    import_tensorrt()
    output = Path(output)
    sidecar = build_engine(onnx_path, output, precision=precision, profiles=profiles,
                           workspace=workspace, timing_cache=timing_cache, build_args=recorded,
                           log=log)
    agreement = None
    if precision != "fp32":
        from .check import check_engine

        agreement = check_engine(output, onnx_path)
        log(f"{precision} engine vs fp32 ONNX Runtime: {agreement.summary()}")
        sidecar.check = agreement.as_dict()
        write_sidecar(output, sidecar)
    return ExportReport(
        output, [output, sidecar_path(output)],
        metadata, {},
        time.perf_counter() - start,
        [f"precision {precision}; profiles: " + "; ".join(p.describe() for p in profiles)],
        agreement=agreement)
