"""Weights: safetensors files and the facts they record (:mod:`.files`) and
named weights such as ``vgg16.tv_in1k`` (:mod:`.named`); the checked reader
of each file format (:mod:`.formats`), content digests (:mod:`.verify`) and
metadata checked against the tensors (:mod:`.checks`)."""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
