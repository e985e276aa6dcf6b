"""Weights: safetensors files and the facts they record (:mod:`.files`) and
named weights such as ``vgg16.tv_in1k`` (:mod:`.named`)."""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
