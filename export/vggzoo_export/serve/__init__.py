"""Serving vggzoo models with a real Triton Inference Server: the model a
Triton ``python`` backend runs (:mod:`.service`, :mod:`.backend_model`),
the server process (:mod:`.server`, :mod:`.environment`) and the client
(:mod:`.client`)."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
