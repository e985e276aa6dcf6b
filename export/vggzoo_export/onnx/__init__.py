"""ONNX: export (:mod:`.export`), int8 quantisation (:mod:`.int8`) and the
ONNX Runtime runner (:mod:`.runner`)."""
