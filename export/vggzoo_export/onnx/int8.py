"""Calibrated int8 ONNX export, shipped only with an accuracy report.

``vggzoo-export MODEL --weights W --int8 --calibrate DIR`` writes a
statically quantized network (QDQ format: ``QuantizeLinear`` /
``DequantizeLinear`` pairs around every convolution, which ONNX Runtime's
CPU provider fuses into integer kernels and OpenVINO reads as int8):

- weights int8, symmetric, one scale per output channel; activations uint8
  with ranges from ONNX Runtime's MinMax calibration on the user's own
  images, preprocessed exactly as the weights expect
  (:func:`vggzoo.data.preprocess.to_input`) at the test scales the file will be
  used at;
- the last convolution (the classifier, ~0.1% of VGG16's FLOPs) stays fp32
  so the logits keep their resolution, and the graph's inputs and outputs
  stay float32: callers see the fp32 file's interface, dynamic batch,
  height and width included;
- on a CPU without VNNI, weights use 7 bits (``reduce_range``): AVX2's
  ``vpmaddubsw`` adds u8*s8 pairs into int16 and saturates with full-range
  weights.  The choice is recorded in the metadata.

Before the file is moved into place, it and the fp32 network run on
held-out images from the same folder (never the calibration ones) and the
top-1 / top-5 agreement and largest logit difference are measured with the
same report reduced-precision TensorRT engines get
(:class:`vggzoo_export.core.parity.AgreementReport`).  Below
``min_agreement`` top-1 agreement nothing is written.

>>> export_int8(vggzoo.create("vgg16", weights="vgg16.pth"), "vgg16.int8.onnx",
...             calibrate="photos/").agreement.top1_agreement
0.996
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vggzoo.runtime.machine import cpu_flags
from vggzoo.models.cfg import PretrainedCfg
from vggzoo.data.images import header_size, walk_images
from vggzoo.data.preprocess import Preprocessing, to_input
from vggzoo.data.scales import choose_test_scales
from vggzoo.eval.data import READ_ERRORS

from ..core.integrity import load_onnx, seal
from ..core.artifacts import check_writable, staged_artifact
from ..core.contract import AGREEMENT_KEY, CALIBRATION_KEY, CONFIG_KEY, INPUT_NAME, SCORE_MAP_NAME
from ..errors import ExportError
from vggzoo.plugins.exporters import ExportReport
from ..core.metadata import ExportMetadata, read_onnx_metadata
from .export import export_onnx
from ..core.parity import AgreementReport, check_agreement, compare_runs

#: Images whose activation ranges calibrate the network (the issue's
#: measurement used 4 batches; 32 images cost seconds at 224).
DEFAULT_CALIBRATION_IMAGES = 32
#: Held-out images the agreement is measured on (at most; fewer if DIR is small).
DEFAULT_AGREEMENT_IMAGES = 256
#: Top-1 agreement with the fp32 network below which nothing is written.
DEFAULT_MIN_AGREEMENT = 0.99
#: Held-out images needed at least, beyond the calibration ones.
MIN_HELD_OUT = 4
#: Images per calibration and agreement batch.
BATCH = 8
#: CPU flags with the int8 dot-product instructions that need no 7-bit weights.
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class ImageSplit:
    """Calibration and held-out images of one folder (disjoint, fixed order)."""

    calibration: list[Path]
    held_out: list[Path]
    #: (path, reason) of the files left out because they cannot be read
    #: (header unreadable, over the decoded-size bound), like predict and eval.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def calibration_sha256(self, root: Path) -> str:
        """Hash of the calibration images' relative paths and bytes."""
        digest = hashlib.sha256()
        for path in self.calibration:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


@dataclass
class Int8Report(ExportReport):
    """What :func:`export_int8` wrote and measured: an export report whose
    check is the ``agreement`` with fp32 on held-out images (``parity`` is
    empty: the int8 file is not meant to match PyTorch to fp32 rounding),
    plus the calibration it used (also in the file's metadata)."""

    calibration: dict = field(default_factory=dict)


def split_images(root: str | os.PathLike, calibration: int, held_out: int) -> ImageSplit:
    """Every image under ``root`` (recursively, sorted), spread evenly into
    ``calibration`` calibration images and up to ``held_out`` others."""
    root = Path(root)
    if not root.is_dir():
        raise ExportError(f"--calibrate {root}: folder does not exist; pass a folder of images "
                          f"like the ones the model will see")
    if calibration < 1 or held_out < MIN_HELD_OUT:
        raise ExportError(f"need at least 1 calibration image and {MIN_HELD_OUT} held-out images, "
                          f"got {calibration} and {held_out}")
    found, _ = walk_images(root, hidden=False)
    images, skipped = [], []
    for path in found:  # headers only: an unreadable file is skipped, not fatal
        try:
            header_size(path)
            images.append(path)
        except READ_ERRORS as exc:
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
    if len(images) < calibration + MIN_HELD_OUT:
        unreadable = f" ({len(skipped)} unreadable file(s) skipped)" if skipped else ""
        raise ExportError(f"--calibrate {root} holds {len(images)} images{unreadable} but "
                          f"calibrating on "
                          f"{calibration} and checking on at least {MIN_HELD_OUT} others needs "
                          f"{calibration + MIN_HELD_OUT}; add images or lower --calibration-images")
    chosen = set(np.linspace(0, len(images) - 1, calibration).round().astype(int).tolist())
    if len(chosen) < calibration:  # tiny folders: linspace repeats indices
        chosen = set(range(calibration))
    rest = [p for i, p in enumerate(images) if i not in chosen]
    picks = np.linspace(0, len(rest) - 1, min(held_out, len(rest))).round().astype(int)
    return ImageSplit([images[i] for i in sorted(chosen)], [rest[i] for i in sorted(set(picks))],
                      skipped)


def image_batches(paths: Sequence[Path], pre: Preprocessing, scales: Sequence[int],
                  batch_size: int = BATCH,
                  skipped: list[tuple[str, str]] | None = None) -> Iterator[np.ndarray]:
    """Preprocessed float32 (N, 3, Q, Q) batches: each image scaled so its
    shortest side is Q (the test scale, as evaluation does) and centre-cropped
    square so images of any shape stack.  An image that cannot be decoded is
    left out and added to ``skipped`` (path, reason), as predict and eval do."""
    from torchvision.transforms import v2

    from vggzoo.data.images import read_image

    for scale in scales:
        transform = v2.Compose([to_input(pre, scale=scale), v2.CenterCrop(scale)])
        for start in range(0, len(paths), batch_size):
            chunk = []
            for path in paths[start:start + batch_size]:
                try:
                    chunk.append(transform(read_image(path)))
                except READ_ERRORS as exc:
                    if skipped is not None and str(path) not in dict(skipped):
                        skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            if chunk:
                yield torch.stack(chunk).numpy()


def check_calibration_memory(model: nn.Module, paths: Sequence[Path],
                             scales: Sequence[int]) -> None:
    """Refuse, before any work, calibration scales whose batches would not
    fit in memory: two ONNX Runtime sessions (fp32 and int8, whose arenas
    keep their peak) running a batch at the largest scale, plus one image
    rescaled before its centre crop (:mod:`vggzoo.runtime.memory`)."""
    from vggzoo.eval.budget import rescaled
    from vggzoo.runtime.memory import FLOAT_BYTES, forward_bytes, network_shape, require_fits

    shape = network_shape(model)
    widest = max((header_size(p) for p in paths), key=lambda s: max(s) / min(s))

    def bytes_at(q: int) -> int:
        h, w = rescaled(widest, q)
        return 2 * forward_bytes(shape, q, q, batch=BATCH) + 3 * h * w * FLOAT_BYTES

    require_fits(f"int8 calibration at scale {max(scales)} (batches of {BATCH} "
                 f"{max(scales)}x{max(scales)} images)", bytes_at, max(scales),
                 option="--calibration-scales", lowest=model.pretrained_cfg.min_input_size)


class _Reader:
    """onnxruntime's ``CalibrationDataReader`` protocol over image batches."""

    def __init__(self, batches: Callable[[], Iterator[np.ndarray]],
                 tick: Callable[[], None]) -> None:
        self._batches = batches
        self._tick = tick
        self._it: Iterator[np.ndarray] | None = None

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        batch = next(self._it, None)
        if batch is None:
            return None
        self._tick()
        return {INPUT_NAME: batch}

    def rewind(self) -> None:
        self._it = None



def has_vnni(flags: set[str] | None = None) -> bool:
    """Whether this CPU has int8 dot-product instructions (VNNI or AMX)."""
    return bool(set(VNNI_FLAGS) & (cpu_flags() if flags is None else flags))


def export_int8(model: nn.Module, output: str | os.PathLike, /, *,
                calibrate: str | os.PathLike | None = None,
                calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
                agreement_images: int = DEFAULT_AGREEMENT_IMAGES,
                min_agreement: float = DEFAULT_MIN_AGREEMENT,
                scales: Sequence[int] | None = None, reduce_range: bool | None = None,
                opset: int | None = None,
                log: Callable[[str], None] = lambda _msg: None) -> Int8Report:
    """Quantize ``model`` to int8 calibrated on images of ``calibrate``,
    check it on held-out images of the same folder, and write it to
    ``output`` only if its top-1 agreement with fp32 is at least
    ``min_agreement`` (else :class:`AgreementError`, nothing written)."""
    output = Path(output)
    check_int8(output, calibrate=calibrate, min_agreement=min_agreement)
    check_writable(output)
    root = Path(calibrate)
    split = split_images(root, calibration_images, agreement_images)
    cfg = model.pretrained_cfg
    scales = list(scales or _default_scales(cfg))
    if min(scales) < cfg.min_input_size:
        raise ExportError(f"calibration scales {scales} go below the model's minimum input "
                          f"size {cfg.min_input_size}; pass --calibration-scales >= it")
    check_calibration_memory(model, split.calibration + split.held_out, scales)
    reduce_range = (not has_vnni()) if reduce_range is None else reduce_range
    pre: Preprocessing = cfg.preprocessing
    start = time.perf_counter()
    with staged_artifact(output) as stage:
        log("exporting the fp32 network ...")
        fp32 = export_onnx(model, stage / "fp32.onnx", **({"opset": opset} if opset else {}))
        meta = read_onnx_metadata(fp32.path)
        steps = len(split.calibration) * len(scales)
        done = [0]

        def tick() -> None:
            done[0] = min(done[0] + 8, steps)
            log(f"calibrating on {len(split.calibration)} images at {scales}: {done[0]}/{steps}")

        def batches(paths: Sequence[Path]) -> Iterator[np.ndarray]:
            return image_batches(paths, pre, scales, skipped=split.skipped)

        reader = _Reader(lambda: batches(split.calibration), tick)
        quantized = _quantize(fp32.path, stage, reader, reduce_range=reduce_range)
        log(f"checking int8 against fp32 on {len(split.held_out)} held-out images ...")
        agreement = _agreement(fp32.path, quantized, batches(split.held_out))
        check_agreement(agreement, min_agreement, what="int8", images=f"held-out images of {root}",
                        threshold="--min-agreement",
                        fix="Calibrate on more images (--calibration-images) like the ones you "
                            "will run, or keep fp32")
        calibration = {"images": len(split.calibration), "sha256": split.calibration_sha256(root),
                       "scales": scales, "method": "minmax", "reduce_range": reduce_range,
                       "per_channel": True, "format": "qdq", "activations": "uint8",
                       "weights": "int8"}
        _write_int8(quantized, stage / output.name, meta, calibration, agreement)
    weights = "per-channel int8 weights" + (" (7-bit, no VNNI)" if reduce_range else "")
    note = f"calibration: {len(split.calibration)} images at {scales} " \
           f"(sha256 {calibration['sha256'][:12]}), {weights}"
    notes = [note, *_skipped_note(split.skipped)]
    return Int8Report(output, [output], read_onnx_metadata(output), parity={},
                      seconds=time.perf_counter() - start, notes=notes, agreement=agreement,
                      calibration=calibration)


def _quantize(fp32: Path, stage: Path, reader: _Reader, *, reduce_range: bool) -> Path:
    """Static QDQ quantization of ``fp32`` into ``stage/int8.onnx`` (per-channel
    symmetric int8 weights, uint8 activations, MinMax calibration, the
    classifier kept in fp32), sealed with the new weights' digest."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quantized = stage / "int8.onnx"
    try:
        # ONNX Runtime's recommended preparation: shape inference and graph
        # optimisation, so the quantizer sees the graph the runtime runs.
        quant_pre_process(str(fp32), str(stage / "prepared.onnx"))
        quantize_static(
            str(stage / "prepared.onnx"), str(quantized), reader, quant_format=QuantFormat.QDQ,
            per_channel=True, reduce_range=reduce_range,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=[_classifier_node(fp32)],
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"onnxruntime.quantization failed: {type(exc).__name__}: {exc}") \
            from exc
    # The quantizer copies fp32's metadata, digest included: seal the new weights.
    onnx.save_model(seal(load_onnx(quantized, verify=False)), str(quantized))
    return quantized


def _agreement(fp32: Path, quantized: Path, batches: Iterator[np.ndarray]) -> AgreementReport:
    """Top-1 agreement of the int8 network with fp32 on ``batches`` (ONNX Runtime, CPU)."""
    from .runner import OrtRunner

    with OrtRunner(fp32, "cpu") as ref, OrtRunner(quantized, "cpu") as cand:
        return compare_runs(lambda x: ref.logits(torch.from_numpy(x)).numpy(),
                            lambda x: cand.logits(torch.from_numpy(x)).numpy(), batches)


def _write_int8(quantized: Path, target: Path, meta: ExportMetadata,
                calibration: dict[str, object], agreement: AgreementReport) -> None:
    """Write the int8 network to ``target`` with fp32's metadata, marked int8, and
    how it was calibrated and how well it agreed; sealed again."""
    import onnx

    proto = onnx.load(str(quantized))
    config = dict(meta.config, precision="int8")
    props = {**meta.to_props(), CONFIG_KEY: json.dumps(config, sort_keys=True),
             CALIBRATION_KEY: json.dumps(calibration),
             AGREEMENT_KEY: json.dumps(agreement.as_dict())}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, props)
    onnx.save_model(seal(proto), str(target))


def _skipped_note(skipped: Sequence[tuple[str, str]]) -> list[str]:
    """The report's line listing the images left out, if any."""
    if not skipped:
        return []
    return [f"skipped {len(skipped)} unreadable image(s): "
            + "; ".join(f"{path}: {reason}" for path, reason in skipped)]


def check_int8(output: Path, /, *, calibrate: str | os.PathLike | None = None,
               min_agreement: float = DEFAULT_MIN_AGREEMENT) -> None:
    """Refuse, before any work, an int8 export without calibration images or
    with an agreement threshold that is not a fraction."""
    if calibrate is None:
        raise ExportError("int8 export needs both --int8 and --calibrate DIR (a folder of images "
                          "like the ones the model will see)")
    if not Path(calibrate).is_dir():
        raise ExportError(f"--calibrate {calibrate}: no such folder; pass a folder of images "
                          f"like the ones the model will see")
    if not 0.0 <= min_agreement <= 1.0:
        raise ExportError(f"--min-agreement is a fraction of images (0-1), got {min_agreement}")


def _default_scales(cfg: PretrainedCfg) -> list[int]:
    """The single test scale the model's facts give by the rule prediction
    and evaluation use (:func:`vggzoo.data.scales.choose_test_scales`): the
    one the file will most often run at."""
    return choose_test_scales(None, cfg.train_scale, multi_scale=False,
                              min_scale=cfg.min_input_size).scales


def _classifier_node(path: Path) -> str:
    """Name of the last ``Conv`` (the classifier), found by walking back from
    the score map output."""
    graph = load_onnx(path, external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    name = SCORE_MAP_NAME
    while name in producer:
        node = producer[name]
        if node.op_type == "Conv":
            return node.name
        name = node.input[0]
    raise ExportError(f"{path}: no Conv produces the score map; cannot find the classifier")
