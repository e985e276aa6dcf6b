"""The export contract every format shares: tensor names and limits
(:mod:`.contract`), the exporter protocol (:mod:`.exporter`), the metadata
written into exported files (:mod:`.metadata`), agreement with PyTorch
(:mod:`.parity`), atomic artifacts (:mod:`.artifacts`) and the exported
network function (:mod:`.network`)."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
