"""The dense test protocol as one ONNX graph, against the same protocol in PyTorch."""

import onnx
import pytest
import torch
import torch.nn.functional as F

import vggzoo
from vggzoo.data.preprocess import to_input
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.errors import ArtifactError, ExportError
from vggzoo_export.onnx.export import export_onnx
from vggzoo.runtime import TorchRunner
from vggzoo_export.protocol.graph import export_protocol_graph
from vggzoo_export.protocol.reference import eval_dense_posteriors, log_posterior_diff
from vggzoo_export.protocol.session import ProtocolSession

SCALES = (224, 256)


@pytest.fixture(scope="module")
def confident_model():
    """Untrained posteriors are near uniform and would hide errors: scale fc8
    up so the posteriors are peaked."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=20, width_mult=TINY_WIDTH).eval()
    with torch.no_grad():
        model.classifier[6].weight.mul_(200)
    return model


@pytest.fixture(scope="module")
def protocol_file(tmp_path_factory, confident_model):
    folder = tmp_path_factory.mktemp("protocol")
    network = export_onnx(confident_model, folder / "net.onnx").path
    return export_protocol_graph(network, folder / "net.dense.onnx", scales=SCALES)


@pytest.mark.parametrize("size", [(240, 300), (400, 290), (256, 256)], ids=str)
def test_protocol_graph_matches_the_pytorch_protocol(protocol_file, confident_model, size):
    image = torch.randint(0, 256, (2, 3, *size), dtype=torch.uint8)
    with ProtocolSession(protocol_file.path, "cpu") as session:
        got = session.posteriors(image)
    runner = TorchRunner(confident_model)
    runner.preprocessing = vggzoo.PAPER
    expected = eval_dense_posteriors(runner, image, SCALES)
    assert got.shape == (2, 20)
    torch.testing.assert_close(got.sum(1), torch.ones(2))
    assert expected.max() > 0.2  # peaked, so the comparison has teeth
    assert log_posterior_diff(got, expected) <= 1e-4


def test_the_comparison_would_catch_a_different_resize(protocol_file, confident_model):
    """Sanity check of the test: a non-antialiased resize (what ONNX Resize
    without antialias would do) is far outside the tolerance."""
    image = torch.randint(0, 256, (1, 3, 400, 290), dtype=torch.uint8)
    with ProtocolSession(protocol_file.path, "cpu") as session:
        got = session.posteriors(image)
    x = image.float() / 255
    wrong = []
    with torch.inference_mode():
        for q in SCALES:
            h, w = int(q * 400 / 290), q
            batch = to_input(vggzoo.PAPER)(F.interpolate(x, size=(h, w), mode="bilinear"))
            wrong += [confident_model(v).softmax(1) for v in (batch, batch.flip(-1))]
    assert log_posterior_diff(got, torch.stack(wrong).mean(0)) > 1e-3


def test_protocol_graph_is_one_graph_with_shared_weights(protocol_file):
    model = onnx.load(str(protocol_file.path))
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["posteriors"]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 11 * len(SCALES)
    assert len({n.input[1] for n in convs}) == 11  # weights stored once
    props = {p.key: p.value for p in model.metadata_props}
    assert props["vggzoo.graph"] == "protocol" and '"scales": [224, 256]' in props["vggzoo.protocol"]


def test_protocol_graph_errors(protocol_file, tmp_path):
    with pytest.raises(ArtifactError, match="takes uint8 RGB"):
        ProtocolSession(protocol_file.path, "cpu").posteriors(torch.zeros(1, 3, 256, 256))
    network = protocol_file.path.with_name("net.onnx")
    with pytest.raises(ExportError, match="test scales must be >= 224"):
        export_protocol_graph(network, tmp_path / "p.onnx", scales=[200, 256])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ArtifactError, match="not a protocol graph"):
        ProtocolSession(network, "cpu")
