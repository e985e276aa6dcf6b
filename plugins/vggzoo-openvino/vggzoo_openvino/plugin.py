"""Registers the OpenVINO runner; openvino itself is imported on first use,
so loading vggzoo's plugins stays cheap."""

from __future__ import annotations

from typing import Any

import vggzoo


def build_openvino_runner(**options: Any) -> Any:
    from .runner import build_openvino_runner as build

    return build(**options)


@vggzoo.hookimpl
def vggzoo_register_runners(register) -> None:
    register("openvino", build_openvino_runner, aliases=["ov"], file_option="onnx",
             description="OpenVINO on a vggzoo .onnx file (fp32 or int8 QDQ; latency/throughput "
                         "hints, bf16 on CPUs that have it)")
