"""The ``vggzoo-export`` command line: the main command (:mod:`.main`), its
tables (:mod:`.output`) and the TensorRT and Triton flags (:mod:`.trt`,
:mod:`.triton`)."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
