"""LPIPS (vggzoo.perceptual) as ONNX and int8 ONNX, and its ONNX Runtime runner."""
