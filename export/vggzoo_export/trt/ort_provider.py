"""Options for ONNX Runtime's TensorRT execution provider
(``--backend onnxruntime --providers tensorrt``).

ONNX Runtime builds the TensorRT engine itself, lazily, and rebuilds it
whenever an input falls outside the shapes it knows, unless it is told the
whole range up front: so the profile shapes (min, opt and max all three) are
always given, and the engine and timing caches are on, keyed by the model,
so the first run of a session builds once and later sessions load.  The
profiles are merged into the one range that covers them all (one
``name:NxCxHxW`` entry per option).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vggzoo.errors import OptionError

from .precision import check_precision
from .profiles import Profile, format_shape


def merged_profile(profiles: Sequence[Profile]) -> Profile:
    """One profile covering all of ``profiles`` (tuned at the middle one's opt)."""
    if not profiles:
        raise OptionError("merged_profile needs at least one profile")
    low = tuple(min(p.min[i] for p in profiles) for i in range(4))
    high = tuple(max(p.max[i] for p in profiles) for i in range(4))
    return Profile(low, profiles[len(profiles) // 2].opt, high)  # type: ignore[arg-type]


def tensorrt_provider_options(input_name: str, profiles: Sequence[Profile], *,
                              cache_dir: str | os.PathLike, precision: str = "fp32",
                              workspace: int | None = None) -> dict[str, str]:
    """``provider_options`` for ``("TensorrtExecutionProvider", options)``.

    ``precision`` is that of the ONNX file: fp16/bf16 files carry their types
    (:mod:`.precision`), so TensorRT 10's weakly typed ``trt_fp16_enable`` is
    never set; the engine matches the graph as it does with ``--trt``.
    """
    check_precision(precision)
    profile = merged_profile(profiles)
    cache = Path(cache_dir)
    options = {
        "trt_profile_min_shapes": f"{input_name}:{format_shape(profile.min)}",
        "trt_profile_opt_shapes": f"{input_name}:{format_shape(profile.opt)}",
        "trt_profile_max_shapes": f"{input_name}:{format_shape(profile.max)}",
        "trt_engine_cache_enable": "1",
        "trt_engine_cache_path": str(cache / "engines"),
        "trt_timing_cache_enable": "1",
        "trt_timing_cache_path": str(cache / "timing"),
    }
    if workspace:
        options["trt_max_workspace_size"] = str(int(workspace))
    return options
