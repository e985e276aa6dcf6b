"""The ``protocol-dense`` exporter: the paper's dense test protocol as one
ONNX graph (:func:`vggzoo_export.protocol.graph.export_protocol_graph`)
behind the :class:`vggzoo.plugins.exporters.Exporter` contract.  Its source
is an ONNX network written by the ``onnx`` exporter
(``vggzoo-export MODEL --protocol dense`` chains the two)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..core.contract import DEFAULT_TEST_SCALES
from vggzoo.plugins.exporters import ExportReport


def export_dense_protocol(network: str | os.PathLike, output: str | os.PathLike, /, *,
                          scales: Sequence[int] = DEFAULT_TEST_SCALES,
                          flip: bool = True) -> ExportReport:
    """Write the dense-protocol graph of ``network`` at test ``scales``
    (with horizontal flips unless ``flip=False``), checked against
    ``vggzoo eval --protocol dense`` on the same network."""
    from ..core.metadata import read_onnx_metadata
    from .graph import export_protocol_graph

    graph = export_protocol_graph(network, output, scales=list(scales), flip=flip)
    return ExportReport(Path(graph.path), list(graph.files), read_onnx_metadata(graph.path),
                        dict(graph.parity), graph.seconds,
                        [f"dense protocol at scales {list(graph.scales)}"
                         f"{' with flips' if flip else ''}"])
