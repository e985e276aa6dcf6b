"""Models: the paper's layer configurations (:mod:`.configs`), the VGG
network (:mod:`.vgg`), the record of what a model is (:mod:`.cfg`), the
factory that builds registered models (:mod:`.factory`), the built-in
registrations (:mod:`.builtin`) and FLOP/parameter counts
(:mod:`.complexity`)."""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
