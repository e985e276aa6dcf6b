"""The dense multi-scale protocol as one ONNX graph: ops, builder, exporter,
reference and session."""
