"""Weights: safetensors files and the facts they record (:mod:`.files`) and
named weights such as ``vgg16.tv_in1k`` (:mod:`.named`)."""
