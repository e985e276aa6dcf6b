"""The ``TritonPythonModel`` of vggzoo's python-backend repositories.

Each repository's ``1/model.py`` puts vggzoo's environment on ``sys.path``
(the backend's stub ignores ``PYTHONPATH``) and imports this class, so the
code a server runs is this tested module, not a copy.  At load it checks the
version folder's files against ``manifest.json`` (SHA-256) and opens the
model file with vggzoo's runners; each :meth:`execute` answers every request
of a dynamic batch with one call of :class:`.service.DenseService`.  A bad
request gets its own error response; the other requests of the batch are
still answered.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Files of a model's version folder and their SHA-256, checked at load.
MANIFEST = "manifest.json"


def read_parameters(model_config: dict) -> dict[str, str]:
    return {k: v.get("string_value", "") for k, v in model_config.get("parameters", {}).items()}


def verify_manifest(version_dir: Path) -> None:
    """Refuse to serve files that differ from what the export wrote."""
    from vggzoo.errors import VggzooError

    from ..core.integrity import sha256_file

    path = version_dir / MANIFEST
    if not path.is_file():
        raise VggzooError(f"{path} is missing: re-export the model with vggzoo-export --triton")
    for name, digest in json.loads(path.read_text()).items():
        file = version_dir / name
        if not file.is_file() or sha256_file(file) != digest:
            raise VggzooError(f"{file} is missing or damaged (SHA-256 differs from {MANIFEST}): "
                              f"re-export the model with vggzoo-export --triton")


class TritonPythonModel:
    """What the Triton python backend loads (its documented interface)."""

    def initialize(self, args: dict) -> None:
        from .service import DenseService

        config = json.loads(args["model_config"])
        params = read_parameters(config)
        version_dir = Path(args["model_repository"]) / str(args["model_version"])
        verify_manifest(version_dir)
        self.input_name = config["input"][0]["name"]
        self.output_name = config["output"][0]["name"]
        self.service = DenseService.open(
            version_dir / params["model_file"], scales=json.loads(params["scales"]),
            flip=params.get("flip", "true") == "true", max_side=int(params["max_side"]),
            batch_size=2 * max(1, int(config.get("max_batch_size", 1))),
            backend=params.get("runner") or None, **json.loads(params.get("runner_options", "{}")))

    def execute(self, requests: list) -> list:
        import numpy as np
        import triton_python_backend_utils as pb_utils

        from vggzoo.errors import VggzooError

        answers: list = [None] * len(requests)
        images: list = []
        owners: list[tuple[int, int]] = []
        for index, request in enumerate(requests):
            try:
                tensor = pb_utils.get_input_tensor_by_name(request, self.input_name)
                if tensor is None:
                    raise VggzooError(f"the request has no input {self.input_name!r}")
                found = self.service.check(tensor.as_numpy())
            except VggzooError as exc:
                answers[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
                continue
            owners.append((index, len(found)))
            images += found
        if images:
            try:
                probs = self.service.posteriors(images)
            except VggzooError as exc:
                for index, _ in owners:
                    answers[index] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(str(exc)))
                return answers
            start = 0
            for index, count in owners:
                part = np.ascontiguousarray(probs[start:start + count])
                start += count
                answers[index] = pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(self.output_name, part)])
        return answers

    def finalize(self) -> None:
        self.service.network.runner.close()
