"""Does a reduced-precision engine still give the fp32 answers?

The exporter runs a fresh fp16/bf16 engine and the fp32 ONNX file (ONNX
Runtime, no TF32) on the same few real photos, one batch per optimisation
profile, and reports the largest logit difference and how often the top-1
class and the top-5 set agree (:class:`vggzoo_export.core.parity.AgreementReport`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from vggzoo.errors import OptionError
from vggzoo.data.preprocess import Preprocessing, to_input

from ..core.parity import AgreementReport, compare_runs
from .profiles import Profile


def sample_batches(profiles: Sequence[Profile], preprocessing: Preprocessing) -> list[np.ndarray]:
    """The bundled photos at each profile's tuned size (shortest side
    rescaled, then centre-cropped), one batch per profile.  Seeded noise
    in the photos' value range stands in when scikit-image is missing."""
    from torchvision.transforms import v2

    from vggzoo.data.samples import PHOTOS, load_photo

    batches = []
    for profile in profiles:
        _, _, height, width = profile.opt
        count = min(len(PHOTOS), profile.max_batch)
        try:
            photos = [load_photo(name) for name in PHOTOS[:count]]
        except ImportError:
            rng = np.random.default_rng(0)
            photos = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]
        transform = v2.Compose([to_input(preprocessing, scale=min(height, width)),
                                v2.CenterCrop((height, width))])
        batches.append(torch.stack([transform(photo) for photo in photos]).numpy())
    return batches


def onnxruntime_logits(onnx_path: str | os.PathLike) -> Callable[[np.ndarray], np.ndarray]:
    """fp32 logits of an ONNX file with ONNX Runtime (CUDA when present,
    with TF32 off so the reference is true fp32)."""
    import onnxruntime as ort

    from ..core.integrity import verify_onnx_file

    verify_onnx_file(onnx_path)
    providers: list = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"use_tf32": 0}))
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    image = session.get_inputs()[0].name
    logits = [o.name for o in session.get_outputs() if len(o.shape) == 2]
    if len(logits) != 1:
        raise OptionError(f"{onnx_path} has no single (N, K) logits output")
    return lambda batch: session.run(logits, {image: batch})[0]


def check_engine(engine_path: str | os.PathLike, onnx_path: str | os.PathLike) -> AgreementReport:
    """Compare a TensorRT engine with its fp32 source ONNX on the sample photos."""
    from .runner import TrtRunner

    runner = TrtRunner(engine_path)
    try:
        batches = sample_batches(runner.sidecar.profiles, runner.preprocessing)
        return compare_runs(onnxruntime_logits(onnx_path),
                            lambda batch: runner.logits(torch.from_numpy(batch)).numpy(), batches)
    finally:
        runner.close()
