"""Registers the OpenVINO runner; openvino itself is imported on first use,
so loading vggzoo's plugins stays cheap."""

from __future__ import annotations

import vggzoo
from vggzoo.plugins import Lazy

#: The runner factory, imported on use; its signature is the options
#: ``--runner-option`` accepts (checked and converted before it runs).
build_openvino_runner = Lazy("vggzoo_openvino.runner:build_openvino_runner")


@vggzoo.hookimpl
def vggzoo_register_runners(register) -> None:
    register("openvino", build_openvino_runner, aliases=["ov"], file_option="onnx",
             flags={"--onnx": ("onnx", "an exported .onnx file, fp32 or int8 (--backend openvino)")},
             description="OpenVINO on a vggzoo .onnx file (fp32 or int8 QDQ; latency/throughput "
                         "hints, bf16 on CPUs that have it)")
