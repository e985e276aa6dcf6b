"""AOTInductor export (``--format aoti``): a ``.pt2`` package of compiled
C++ kernels that runs without the Python model code.

Why the package has entries, and why the dynamic one starts at 256:
traced at 224, the class score map is 1x1, and ``torch.export`` treats a
size of 1 as a special case (its 0/1 specialisation: a size-1 dimension has
no meaningful stride, so layout decisions branch on it).  Exported with a
dynamic height/width Dim whose range includes 224..255, the program either
fails to export ("generated guard (W // 32) - 6 == 1") or, with the
height/width written as multiples of 32, exports with the score map's size
frozen at 1x1: at 256x256 or 320x384 the package still returns a (N, K, 1, 1)
map, i.e. only the top-left window, so its logits are wrong at every size but
the traced one (the 0.05-0.08 error reported on vgg11).  No kernel is
miscompiled: with the map at least 2x2 (inputs of at least 256 a side) one
dynamic program matches eager to 1e-8 everywhere in its range.

So a package holds one dynamic entry for 256..``max_size`` pixels a side
(any aspect ratio) and, with ``sizes=["224x224", ...]``, static entries for
exact sizes below that.  :class:`AotiRunner` picks the entry per input and
names the covered sizes when none fits.  Every entry passes the parity check
(several sizes, square and not) before the package is moved into place.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vggzoo.errors import InputSizeError, VggzooError
from vggzoo.models.vgg import TRUNK_STRIDE
from vggzoo.runtime.base import Runner, run_in_pieces

from ..core.artifacts import staged_artifact
from ..errors import ArtifactError, ExportError
from ..core.contract import AOTI_ENTRY_KEY
from vggzoo.plugins.exporters import ExportReport
from ..core.metadata import ExportMetadata, describe
from ..core.integrity import digest_path, verify_file_digest, write_file_digest
from ..core.network import ScoreMapAndLogits, prepare
from ..core.parity import FP32_TOLERANCE, check_parity

#: Smallest side of the dynamic entry: a score map of at least 2x2.
DYNAMIC_MIN = 256
DEFAULT_MAX_SIZE = 2048
DYNAMIC_ENTRY = "dynamic"
#: Parity sizes of the dynamic entry: its minimum, both non-square
#: orientations, and the traced size.
DYNAMIC_PARITY_SIZES = ((256, 256), (288, 352), (384, 288))
TRACE_SIZE = (288, 320)


@dataclass(frozen=True)
class Entry:
    """One compiled program in the package and the inputs it takes."""

    name: str
    min_size: int
    max_size: int
    static: tuple[int, int] | None = None

    def accepts(self, h: int, w: int) -> bool:
        if self.static is not None:
            return (h, w) == self.static
        return self.min_size <= min(h, w) and max(h, w) <= self.max_size

    def describe(self) -> str:
        if self.static:
            return f"{self.static[0]}x{self.static[1]}"
        return f"any size from {self.min_size} to {self.max_size} a side"

    def as_json(self) -> str:
        return json.dumps({"name": self.name, "min_size": self.min_size,
                           "max_size": self.max_size, "static": self.static})

    @classmethod
    def from_json(cls, text: str) -> "Entry":
        data = json.loads(text)
        return cls(data["name"], data["min_size"], data["max_size"],
                   tuple(data["static"]) if data["static"] else None)


def plan_entries(sizes: Sequence[tuple[int, int]] | None, max_size: int) -> list[Entry]:
    """The dynamic entry plus a static one per requested size below 256."""
    entries = [Entry(DYNAMIC_ENTRY, DYNAMIC_MIN, max_size)]
    for h, w in sizes or ():
        if min(h, w) < 224:
            raise ExportError(f"size {h}x{w} is below the 224 minimum of VGG")
        if not entries[0].accepts(h, w):
            entries.append(Entry(f"static_{h}x{w}", min(h, w), max(h, w), (h, w)))
    return entries


def _compile(module: nn.Module, entry: Entry, batch: int, metadata: dict[str, str],
             channels: int) -> list:
    if entry.static:
        example = torch.zeros(batch, channels, *entry.static)
        dynamic = None
    else:
        example = torch.zeros(batch, channels, *TRACE_SIZE)
        dims = {2: torch.export.Dim("height", min=entry.min_size, max=entry.max_size),
                3: torch.export.Dim("width", min=entry.min_size, max=entry.max_size)}
        dynamic = {"x": dims}
    with torch.no_grad():
        program = torch.export.export(module, (example,), dynamic_shapes=dynamic)
    options = {"aot_inductor.package": True, "aot_inductor.metadata": metadata}
    return torch._inductor.aot_compile(program.module(), (example,), options=options)


def export_aoti(model: nn.Module, output: str | os.PathLike, *, batch: int | None = 1,
                sizes: Sequence[tuple[int, int]] | None = None,
                max_size: int = DEFAULT_MAX_SIZE) -> ExportReport:
    """Compile ``model`` into an AOTInductor package and verify every entry.

    >>> export_aoti(vggzoo.create("vgg16", weights="vgg16.pth"), "vgg16.pt2",
    ...             sizes=[(224, 224)]).parity
    {'dynamic 256x256': 2e-06, ..., 'static_224x224 224x224': 1e-06}
    """
    from torch._inductor.package import package_aoti

    if batch is None:
        raise ExportError("the aoti format compiles a fixed batch (default 1): pass --batch N")
    start = time.perf_counter()
    net = prepare(model)
    output = Path(output)
    if output.suffix != ".pt2":
        raise ExportError(f"AOTInductor packages must end in .pt2, got {output.name}")
    entries = plan_entries(sizes, max_size)
    meta = describe(net, format="aoti", precision="fp32", batch=batch,
                    entries=[e.name for e in entries])
    props = meta.to_props()
    module = ScoreMapAndLogits(net).eval()
    with staged_artifact(output, (digest_path(output).name,)) as stage:
        channels = net.pretrained_cfg.in_chans
        compiled = {e.name: _compile(module, e, batch, {**props, AOTI_ENTRY_KEY: e.as_json()},
                                     channels) for e in entries}
        package_aoti(str(stage / output.name), compiled)
        parity = {}
        with AotiRunner(stage / output.name) as runner, torch.inference_mode():
            for entry in entries:
                checked = [entry.static] if entry.static else DYNAMIC_PARITY_SIZES
                report = check_parity(runner.logits, net, what=f"AOTInductor entry {entry.name}",
                                      sizes=checked, batch=batch, tolerance=FP32_TOLERANCE,
                                      channels=channels)
                parity.update({f"{entry.name} {k}": v for k, v in report.items()})
        write_file_digest(stage / output.name)
    notes = [f"entries: {'; '.join(e.describe() for e in entries)}; batch {batch}"]
    return ExportReport(output, [output, digest_path(output)], meta, parity,
                        time.perf_counter() - start, notes)


class AotiRunner(Runner):
    """Runs an AOTInductor package made by :func:`export_aoti` (CPU).

    >>> with AotiRunner("vgg16.pt2") as runner:
    ...     runner.logits(torch.zeros(1, 3, 256, 320)).shape
    torch.Size([1, 1000])
    """

    name = "aoti"

    def __init__(self, path: str | os.PathLike) -> None:
        from torch.export.pt2_archive._package import load_pt2

        self.path = Path(path)
        if not self.path.is_file():
            raise ArtifactError(f"AOTInductor package {self.path} does not exist; make one with "
                                f"`vggzoo-export MODEL --format aoti -o {self.path}`")
        verify_file_digest(self.path, "AOTInductor package",
                           f"export it again with `vggzoo-export MODEL --format aoti -o "
                           f"{self.path}`")
        try:
            self._programs = dict(load_pt2(str(self.path)).aoti_runners)
        except Exception as exc:
            raise ArtifactError(f"cannot load AOTInductor package {self.path}: {exc}. It is "
                                f"corrupt or was built by another torch version; export it "
                                f"again") from exc
        if not self._programs:
            raise ArtifactError(f"{self.path} holds no compiled model; export it again")
        first = next(iter(self._programs.values())).get_metadata()
        self.metadata = ExportMetadata.from_props(first, source=str(self.path))
        self.entries = [Entry.from_json(p.get_metadata()[AOTI_ENTRY_KEY])
                        for p in self._programs.values()]
        self.metadata.describe_runner(self)
        self.batch = int(self.metadata.config["batch"])

    def _entry_for(self, batch: torch.Tensor) -> Entry:
        self.metadata.check_batch(batch, str(self.path))
        h, w = batch.shape[-2:]
        for entry in self.entries:
            if entry.accepts(h, w):
                return entry
        covered = "; ".join(e.describe() for e in self.entries)
        raise InputSizeError(f"input {h}x{w} is outside what {self.path.name} was compiled for "
                             f"({covered}); re-export with --sizes {h}x{w} or use the ONNX "
                             f"export, which takes any size >= 224")

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of any number of images: the package runs a fixed batch,
        so larger batches are split and a short piece is zero-padded."""
        program = self._programs[self._entry_for(batch).name]
        x = batch.detach().to("cpu", torch.float32).contiguous()
        return run_in_pieces(lambda piece: program(piece)[1], x, self.batch, pad=True)

    def close(self) -> None:
        self._programs = {}


def build_aoti_runner(*, package: str | os.PathLike | None = None,
                      aoti: str | os.PathLike | None = None) -> AotiRunner:
    """Factory for ``create_runner("aoti", package=PATH)``; the package runs
    on the device it was compiled for."""
    path = package or aoti
    if path is None:
        raise VggzooError("the aoti backend needs a package: pass package=PATH (a .pt2 made by "
                          "`vggzoo-export MODEL --format aoti`)")
    return AotiRunner(path)
