"""Fully-convolutional ONNX export with dynamic batch, height and width.

The graph has one input, ``input`` (N, C, H, W) float32, preprocessed (C the
model's ``in_chans``, 3 for RGB), and
two outputs: ``score_map`` (N, K, H/32-6, W/32-6), the paper's class score
map, and ``logits`` (N, K), its spatial mean.  There is no adaptive pooling
anywhere, so nothing is frozen at the traced size: the file is correct at
every size of at least 224, which the parity check verifies at sizes other
than the traced one before the file is moved into place.

Exporter choice (torch 2.14): the TorchScript exporter (``dynamo=False``)
and the torch.export-based one (``dynamo=True``) produce the same 37-node
graph for VGG16, identical to 1e-7 at every size; the TorchScript one needs
no ``onnxscript`` and exports 2x faster (7 s vs 14 s full size, 0.3 s vs
3.5 s at test width), so it is the default.  ``exporter="dynamo"`` selects
the other (``pip install onnxscript``), for when TorchScript export is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from ..core.artifacts import staged_artifact
from ..core.contract import (DEFAULT_OPSET, EXTERNAL_DATA_THRESHOLD, INPUT_NAME, OUTPUT_NAMES,
                       data_file_name)
from ..errors import ExportError
from vggzoo.plugins.exporters import ExportReport
from ..core.metadata import describe
from ..core.integrity import seal
from ..core.network import ScoreMapAndLogits, prepare
from ..core.parity import DEFAULT_PARITY_SIZES, FP16_TOLERANCE, FP32_TOLERANCE, check_parity

EXPORTERS = ("torchscript", "dynamo")


def export_onnx(model: nn.Module, output: str | os.PathLike, *, opset: int = DEFAULT_OPSET,
                fp16: bool = False, batch: int | None = None,
                exporter: Literal["torchscript", "dynamo"] = "torchscript",
                parity_sizes: Sequence[tuple[int, int]] = DEFAULT_PARITY_SIZES,
                external_data_threshold: int = EXTERNAL_DATA_THRESHOLD) -> ExportReport:
    """Export ``model`` fully-convolutionally to ``output`` and verify it.

    ``batch=None`` keeps the batch dimension dynamic; an int fixes it.
    Weights go to ``output + ".data"`` when they exceed
    ``external_data_threshold`` bytes (2 GB protobuf limit).  Raises
    :class:`ParityError` (nothing written) when ONNX Runtime disagrees with
    PyTorch at any of ``parity_sizes``.

    >>> export_onnx(vggzoo.create("vgg16", weights="vgg16.pth"), "vgg16.onnx").parity
    {'224x224': 3.1e-06, '256x320': 2.9e-06, '288x288': 2.4e-06}
    """
    import onnx

    if exporter not in EXPORTERS:
        raise ExportError(f"unknown ONNX exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    if batch is not None and batch < 1:
        raise ExportError(f"--batch must be >= 1 or 'dynamic', got {batch}")
    start = time.perf_counter()
    net = prepare(model)
    output = Path(output)
    meta = describe(net, format="onnx", opset=opset, precision="fp16" if fp16 else "fp32",
                    batch=batch or "dynamic", exporter=exporter)
    with staged_artifact(output, (data_file_name(output),)) as stage:
        raw = stage / "raw"
        raw.mkdir()
        _torch_export(ScoreMapAndLogits(_copy(net), fp16=fp16).eval(), raw / "model.onnx",
                      opset=opset, batch=batch, exporter=exporter,
                      channels=net.pretrained_cfg.in_chans)
        proto = onnx.load(str(raw / "model.onnx"))  # pulls in any external data
        shutil.rmtree(raw)
        onnx.helper.set_model_props(proto, meta.to_props())
        seal(proto)
        external = _weight_bytes(net, fp16) > external_data_threshold
        staged = stage / output.name
        onnx.save_model(proto, str(staged), save_as_external_data=external,
                        all_tensors_to_one_file=True, location=data_file_name(output),
                        size_threshold=1024)
        del proto
        _check_model(staged)
        parity = _check_onnx_parity(staged, net, fp16=fp16, batch=batch or 1, sizes=parity_sizes)
        files = [output] + ([output.parent / data_file_name(output)] if external else [])
    notes = ["weights in " + data_file_name(output)] if external else []
    return ExportReport(output, files, meta, parity, time.perf_counter() - start, notes)


def _copy(net: nn.Module) -> nn.Module:
    """Exporting may flip train/eval modes and fp16 casts in place: work on a copy."""
    import copy

    return copy.deepcopy(net)


def _weight_bytes(net: nn.Module, fp16: bool) -> int:
    return sum(p.numel() * (2 if fp16 else p.element_size()) for p in net.parameters())


def _torch_export(module: nn.Module, path: Path, *, opset: int, batch: int | None,
                  exporter: str, channels: int) -> None:
    example = torch.zeros(batch or 1, channels, 224, 224)
    try:
        if exporter == "dynamo":
            _dynamo_export(module, example, path, opset=opset, batch=batch)
            return
        dynamic = {2: "height", 3: "width"} if batch else {0: "batch", 2: "height", 3: "width"}
        map_axes = {2: "map_height", 3: "map_width"} | ({} if batch else {0: "batch"})
        with warnings.catch_warnings():
            # The legacy exporter is deprecated in favour of dynamo (see the module
            # docstring for why it is still the default); the tracer warns about the
            # min-size check, which becomes the runner's job (OrtRunner checks it).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(module, (example,), str(path), dynamo=False, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                              dynamic_axes={INPUT_NAME: dynamic, OUTPUT_NAMES[0]: map_axes,
                                            OUTPUT_NAMES[1]: {} if batch else {0: "batch"}},
                              do_constant_folding=True)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"torch.onnx.export ({exporter}) failed: {type(exc).__name__}: {exc}") from exc


def _dynamo_export(module: nn.Module, example: torch.Tensor, path: Path, *, opset: int,
                   batch: int | None) -> None:
    try:
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ExportError("exporter='dynamo' needs onnxscript: pip install onnxscript "
                          "(or use the default exporter='torchscript')") from exc
    dims = {2: torch.export.Dim("height", min=224), 3: torch.export.Dim("width", min=224)}
    if batch is None:
        dims[0] = torch.export.Dim("batch", min=1)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # progress lines
        torch.onnx.export(module, (example,), str(path), dynamo=True, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                          dynamic_shapes={"x": dims}, external_data=True)


def _check_model(path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"onnx.checker rejects the exported graph: {exc}") from exc


def _check_onnx_parity(path: Path, net: nn.Module, *, fp16: bool, batch: int,
                       sizes: Iterable[tuple[int, int]]) -> dict[str, float]:
    from .runner import OrtRunner

    with OrtRunner(path, providers="auto" if fp16 else "cpu") as runner, torch.inference_mode():
        return check_parity(runner.logits, net, what=f"ONNX export of {net.pretrained_cfg.name}",
                            sizes=sizes, batch=batch, channels=net.pretrained_cfg.in_chans,
                            tolerance=FP16_TOLERANCE if fp16 else FP32_TOLERANCE)
