"""fp16/bf16 written into the ONNX graph, checked against fp32 ONNX Runtime."""

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vggzoo.errors import OptionError, VggzooError
from vggzoo_export.trt.check import onnxruntime_logits, sample_batches
from vggzoo_export.core.parity import compare_logits, compare_runs
from vggzoo_export.trt.precision import convert_onnx_file, convert_precision
from vggzoo_export.trt.profiles import derive_profiles

from trt_helpers import export_tiny_onnx


def _io_types(model):
    return ([i.type.tensor_type.elem_type for i in model.graph.input],
            [o.type.tensor_type.elem_type for o in model.graph.output])


def test_fp16_onnx_keeps_fp32_io_and_matches_fp32_on_real_photos(tiny_onnx, tmp_path):
    source, _ = tiny_onnx
    target = convert_onnx_file(source, tmp_path / "fp16.onnx", "fp16")
    converted = onnx.load(str(target))
    assert _io_types(converted) == ([TensorProto.FLOAT], [TensorProto.FLOAT] * 2)
    weights = {t.name: t.data_type for t in converted.graph.initializer}
    conv_weights = [n.input[1] for n in converted.graph.node if n.op_type == "Conv"]
    assert conv_weights and all(weights[w] == TensorProto.FLOAT16 for w in conv_weights)
    assert converted.graph.node[0].op_type == "Cast"
    metadata = {p.key: p.value for p in converted.metadata_props}
    assert metadata["precision"] == "fp16" and metadata["vggzoo.model"] == "vgg11"
    assert target.stat().st_size < 0.6 * source.stat().st_size

    batches = sample_batches(derive_profiles([224, 288], max_batch=3), vggzoo_paper())
    assert [b.shape for b in batches] == [(3, 3, 224, 224), (3, 3, 288, 288)]
    report = compare_runs(onnxruntime_logits(source), onnxruntime_logits(target), batches)
    assert report.images == 6
    assert report.max_abs_diff < 0.01 * report.reference_scale
    assert report.top1_agreement == 1.0 and report.top5_agreement == 1.0
    # the score map output is float32 too and agrees
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    logits, score_map = session.run(["logits", "score_map"], {"input": batches[1]})
    assert logits.dtype == score_map.dtype == np.float32
    np.testing.assert_allclose(score_map.mean(axis=(2, 3)), logits, rtol=1e-3, atol=1e-5)


def vggzoo_paper():
    import vggzoo

    return vggzoo.PAPER


def test_bf16_onnx_is_valid_at_opset_22_and_close_to_fp32(tiny_onnx, tmp_path):
    from onnx.reference import ReferenceEvaluator

    source, _ = tiny_onnx
    converted = onnx.load(str(convert_onnx_file(source, tmp_path / "bf16.onnx", "bf16")))
    opset = next(o.version for o in converted.opset_import if o.domain in ("", "ai.onnx"))
    assert opset == 22  # bfloat16 convolutions enter the ONNX standard there
    assert _io_types(converted) == ([TensorProto.FLOAT], [TensorProto.FLOAT] * 2)
    conv_weights = {n.input[1] for n in converted.graph.node if n.op_type == "Conv"}
    assert {t.data_type for t in converted.graph.initializer if t.name in conv_weights} == {
        TensorProto.BFLOAT16}
    # ONNX Runtime's CPU provider has no bfloat16 convolution: ONNX's
    # reference evaluator runs the graph instead (one image, slow but exact).
    image = sample_batches(derive_profiles([224], max_batch=1), vggzoo_paper())[0]
    low = ReferenceEvaluator(converted).run(["logits"], {"input": image})[0]
    ref = onnxruntime_logits(source)(image)
    report = compare_logits(ref, low)
    assert report.max_abs_diff < 0.03 * report.reference_scale
    assert report.top1_agreement == 1.0
    assert report.max_abs_diff > 0  # it really computed in bfloat16


def test_graph_with_control_flow_keeps_the_body_inputs_fp32(tmp_path):
    # The legacy exporter writes LocalResponseNorm with an If node whose
    # body reads tensors of the main graph.
    source = tmp_path / "lrn.onnx"
    export_tiny_onnx(source, name="vgg11_lrn", num_classes=10)
    assert any(n.op_type == "If" for n in onnx.load(str(source)).graph.node)
    target = convert_onnx_file(source, tmp_path / "lrn16.onnx", "fp16")
    x = np.random.default_rng(0).uniform(-120, 130, (2, 3, 256, 288)).astype(np.float32)
    report = compare_logits(onnxruntime_logits(source)(x), onnxruntime_logits(target)(x))
    assert report.max_abs_diff < 0.01 * report.reference_scale and report.top1_agreement == 1


def test_fp16_weights_beyond_the_range_are_clipped_with_a_warning():
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(np.array([1e6, 2.0], dtype=np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with pytest.warns(RuntimeWarning, match="1 values of 'w' exceed the fp16 range.*bf16"):
        converted = convert_precision(model, "fp16")
    weight = numpy_helper.to_array(converted.graph.initializer[0])
    assert weight.dtype == np.float16 and weight[0] == np.float16(65504) and weight[1] == 2
    y = ort.InferenceSession(converted.SerializeToString(),
                             providers=["CPUExecutionProvider"]).run(None, {"x": np.ones(2, np.float32)})[0]
    assert y.dtype == np.float32 and y.tolist() == [65504.0, 2.0]


def test_fp32_is_an_unchanged_copy_and_unknown_precisions_are_refused(tiny_onnx):
    model = onnx.load(str(tiny_onnx[0]))
    assert convert_precision(model, "fp32") == model
    with pytest.raises(OptionError, match="unknown precision 'int8'.*fp32, fp16, bf16"):
        convert_precision(model, "int8")


def test_agreement_numbers():
    reference = np.array([[5.0, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]])
    candidate = reference.copy()
    candidate[1, [5, 4]] = [4.0, 5.0]      # image 2: top-1 swapped, same top-5 set
    candidate[0, [4, 5]] = [0.0, 1.5]      # image 1: 6th class enters the top 5
    report = compare_logits(reference, candidate)
    assert report.images == 2 and report.reference_scale == 5
    assert report.top1_agreement == 0.5 and report.top5_agreement == 0.5
    assert report.max_abs_diff == pytest.approx(1.5)
    with pytest.raises(ValueError, match="one shape"):
        compare_logits(reference, candidate[:, :5])


def test_non_finite_logits_never_count_as_agreement():
    """A NaN row of the reduced-precision run must disagree, even where
    argsort would rank its classes in the reference's order by accident."""
    reference = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    candidate = np.array([[np.nan, np.nan, np.nan], [3.0, 2.0, 1.0], [1.0, 2.0, np.inf]])
    report = compare_logits(reference, candidate)
    assert report.nonfinite == 2
    assert report.top1_agreement == pytest.approx(1 / 3)
    assert report.top5_agreement == pytest.approx(1 / 3)
    assert np.isfinite(report.max_abs_diff) and report.max_abs_diff == 0.0
    with pytest.raises(VggzooError, match="non-finite"):
        compare_logits(reference, np.full_like(reference, np.nan))
