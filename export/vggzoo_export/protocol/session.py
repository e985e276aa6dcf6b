"""Running a protocol graph with ONNX Runtime: uint8 images in, posteriors out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import ArtifactError
from ..core.metadata import ExportMetadata
from ..core.contract import GRAPH_KEY, IMAGE_NAME, POSTERIORS_NAME, PROTOCOL_GRAPH, PROTOCOL_KEY


class ProtocolSession:
    """Runs a protocol graph: uint8 images in, posteriors out.

    >>> with ProtocolSession("vgg16.dense.onnx") as session:
    ...     session.posteriors(image_uint8_nchw).argmax(1)
    """

    def __init__(self, path: str | os.PathLike, providers: str = "auto") -> None:
        from ..onnx.runner import open_session

        self.path = Path(path)
        self.session = open_session(self.path, providers=providers)
        props = self.session.get_modelmeta().custom_metadata_map
        if props.get(GRAPH_KEY) != PROTOCOL_GRAPH:
            raise ArtifactError(f"{self.path} is not a protocol graph; export one with "
                                f"`vggzoo-export MODEL --protocol dense`")
        self.protocol = json.loads(props[PROTOCOL_KEY])
        self.metadata = ExportMetadata.from_props(props, source=str(self.path))

    def posteriors(self, image: torch.Tensor) -> torch.Tensor:
        """(N, K) posteriors for a uint8 (N, 3, H, W) or (3, H, W) RGB image."""
        if image.dim() == 3:
            image = image[None]
        if image.dtype != torch.uint8 or image.dim() != 4 or image.shape[1] != 3:
            raise ArtifactError(f"the protocol graph takes uint8 RGB images (N, 3, H, W), got "
                                f"{image.dtype} {tuple(image.shape)}")
        out = self.session.run([POSTERIORS_NAME], {IMAGE_NAME: image.contiguous().numpy()})[0]
        return torch.from_numpy(out)

    def close(self) -> None:
        self.session = None

    def __enter__(self) -> "ProtocolSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
