"""What ``vggzoo serve WEIGHTS|FILE`` serves: an exported ONNX file as is,
or weights exported first; either way written as a python-backend model
into the repository (:func:`vggzoo_export.triton.python_model.write_python_model`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..core.contract import DEFAULT_MAX_BATCH


def prepare_repository(source: str | os.PathLike, repository: str | os.PathLike, *,
                       model: str | None = None, name: str | None = None,
                       scales: Sequence[int] | None = None, multi_scale: bool = False,
                       max_batch: int = DEFAULT_MAX_BATCH, max_side: int | None = None,
                       queue_delay_us: int | None = None, runtime: str | None = None,
                       log=None) -> tuple[str, Path]:
    """Write the model for ``source`` (``.onnx`` file, fp32 or int8, or
    weights: a file, a run directory, named weights) into ``repository``, run
    by ``runtime`` (:data:`vggzoo_export.triton.runtimes.RUNTIMES`); returns
    its name and config path."""
    import vggzoo

    from ..triton.python_model import write_python_model

    options = {k: v for k, v in {"max_side": max_side, "queue_delay_us": queue_delay_us,
                                 "runtime": runtime}.items() if v is not None}
    if runtime is not None:  # before any export work
        from ..triton.runtimes import check_runtime

        check_runtime(runtime, "--runtime")
    text = str(source)
    if text.endswith(".onnx"):
        config = write_python_model(repository, source, name=name, max_batch=max_batch,
                                    scales=scales, multi_scale=multi_scale, **options)
        return config.parent.name, config
    from ..onnx.export import export_onnx
    from vggzoo.weights.files import read_facts

    arch = model or read_facts(source).model
    net = vggzoo.create(arch, weights=source, fully_conv=True) if arch else None
    if net is None:
        from vggzoo.errors import WeightsError

        raise WeightsError(f"{source} does not record its architecture: pass --model (e.g. vgg16)")
    with tempfile.TemporaryDirectory(prefix="vggzoo-serve-") as folder:
        onnx_path = Path(folder) / f"{net.pretrained_cfg.name}.onnx"
        if log is not None:
            log(f"exporting {net.pretrained_cfg.name} to ONNX (checked against PyTorch) ...")
        export_onnx(net.eval(), onnx_path)
        config = write_python_model(repository, onnx_path, name=name, max_batch=max_batch,
                                    scales=scales, multi_scale=multi_scale, **options)
    return config.parent.name, config
