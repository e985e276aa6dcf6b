"""``vggzoo predict PATHS --server URL``: the same predictions, made by a
Triton server running a python-backend repository of vggzoo.

Images are decoded here exactly as a local ``vggzoo predict`` decodes them
and sent as uint8 pixels (H, W, 3), one request each; the server answers the
dense protocol's posteriors.  URLs are ``grpc://HOST:PORT`` or
``http://HOST:PORT`` (``HOST:PORT`` alone means HTTP).  A server that is
down, times out or refuses a request is one :class:`ServerError` line.

>>> result = predict_on_server(["photos/"], "grpc://127.0.0.1:8001")
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vggzoo.errors import OptionError

from ..core.contract import IMAGE_NAME, POSTERIORS_NAME
from .server import ServerError

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerAddress:
    protocol: str  # "grpc" or "http"
    url: str       # host:port

    @classmethod
    def parse(cls, text: str) -> "ServerAddress":
        scheme, sep, rest = text.partition("://")
        if not sep:
            scheme, rest = "http", text
        if scheme not in ("grpc", "http") or not rest or "/" in rest.rstrip("/"):
            raise OptionError(f"--server {text!r}: write grpc://HOST:PORT or http://HOST:PORT, "
                              f"e.g. grpc://127.0.0.1:8001")
        return cls(scheme, rest.rstrip("/"))


class TritonClient:
    """One tritonclient (HTTP or gRPC) for one model; not thread-safe, so
    one per thread (tritonclient's HTTP client is not)."""

    def __init__(self, server: str, model: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = ServerAddress.parse(server)
        self.timeout = timeout
        if self.address.protocol == "grpc":
            import tritonclient.grpc as module
            self.client = module.InferenceServerClient(self.address.url)
        else:
            import tritonclient.http as module
            self.client = module.InferenceServerClient(
                self.address.url, connection_timeout=timeout, network_timeout=timeout)
        self.module = module
        #: gRPC calls take their own deadline (HTTP's is the client's network timeout).
        self.deadline = {"client_timeout": timeout} if self.address.protocol == "grpc" else {}
        self.model = model or self._only_model()
        config = self._call(self.client.get_model_config, self.model, **self.deadline)
        config = config if isinstance(config, dict) else _as_dict(config)
        config = config.get("config", config)
        self.parameters = {k: v.get("string_value", v.get("stringValue", ""))
                           for k, v in config.get("parameters", {}).items()}
        if config.get("backend") != "python" or "scales" not in self.parameters:
            raise ServerError(f"model {self.model!r} on {server} is not a vggzoo python-backend "
                              f"model (pixels in, posteriors out): export one with "
                              f"vggzoo-export ... --triton REPO --backend python")

    def _call(self, function, *args, **kwargs) -> Any:
        from tritonclient.utils import InferenceServerException

        try:
            return function(*args, **kwargs)
        except InferenceServerException as exc:
            raise ServerError(f"Triton server {self.address.protocol}://{self.address.url}: "
                              f"{_reason(exc)}") from None
        except (OSError, TimeoutError) as exc:
            raise ServerError(f"cannot reach a Triton server at {self.address.protocol}://"
                              f"{self.address.url} ({type(exc).__name__}: {exc}): start one with "
                              f"`vggzoo serve WEIGHTS` or check --server") from None

    def _only_model(self) -> str:
        index = self._call(self.client.get_model_repository_index, **self.deadline)
        entries = index if isinstance(index, list) else _as_dict(index).get("models", [])
        ready = sorted(e["name"] for e in entries if e.get("state") == "READY")
        if len(ready) != 1:
            raise OptionError(f"the server at {self.address.url} serves "
                              f"{', '.join(ready) or 'no ready model'}: name one with "
                              f"--server-model")
        return ready[0]

    def posteriors(self, pixels: np.ndarray) -> np.ndarray:
        """(N, K) posteriors of (N, H, W, 3) uint8 pixels."""
        tensor = self.module.InferInput(IMAGE_NAME, list(pixels.shape), "UINT8")
        tensor.set_data_from_numpy(np.ascontiguousarray(pixels))
        output = self.module.InferRequestedOutput(POSTERIORS_NAME)
        answer = self._call(self.client.infer, self.model, [tensor], outputs=[output],
                            **self.deadline)
        return answer.as_numpy(POSTERIORS_NAME)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "TritonClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: Exception) -> str:
    text = exc.message() if hasattr(exc, "message") and callable(exc.message) else str(exc)
    return " ".join(str(text).split())


def _as_dict(message: Any) -> dict:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True)


def predict_on_server(paths: str | os.PathLike | Sequence[str | os.PathLike], server: str, *,
                      model: str | None = None, topk: int = 5,
                      timeout: float = DEFAULT_TIMEOUT, progress=None):
    """:func:`vggzoo.predict`'s result, computed by the server."""
    from vggzoo.errors import VggzooError
    from vggzoo.eval.data import READ_ERRORS, SkippedImage, read_image
    from vggzoo.eval.inference import ClassScore, ImagePrediction, PredictResult, find_inputs

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if topk < 1:
        raise VggzooError(f"topk must be at least 1, got {topk}")
    files, skipped = find_inputs(paths)
    predictions = []
    with TritonClient(server, model, timeout=timeout) as client:
        names = json.loads(client.parameters.get("classes") or "null")
        for done, path in enumerate(files, start=1):
            try:
                image = read_image(path)
            except READ_ERRORS as exc:
                skipped.append(SkippedImage(str(path), f"{type(exc).__name__}: {exc}"))
                continue
            probs = client.posteriors(image.permute(1, 2, 0).numpy()[None])[0]
            order = np.argsort(-probs, kind="stable")[:topk]
            predictions.append(ImagePrediction(
                str(path), (int(image.shape[-2]), int(image.shape[-1])),
                [ClassScore(int(k), names[k] if names else str(k), float(probs[k]))
                 for k in order]))
            if progress is not None:
                progress(done, len(files))
        params = client.parameters
        model_name = client.model
    if not predictions:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3]) or "no paths given"
        raise VggzooError(f"no image to predict ({reasons})")
    return PredictResult(
        predictions=predictions, skipped=skipped, model=params.get("model") or model_name,
        weights=None, backend=f"triton {client.address.protocol}://{client.address.url} "
                              f"(model {model_name})",
        protocol="dense", scales=json.loads(params["scales"]), flip=params.get("flip") == "true",
        class_names="weights" if names else "indices", topk=topk)
