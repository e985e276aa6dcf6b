"""`vggzoo-export MODEL --protocol dense` for a batch-norm model, and the
graph's posteriors against `vggzoo eval --protocol dense` on real photos."""

import json

import pytest
import torch
from torchvision.transforms import v2

import vggzoo
from vggzoo.eval import protocol_posteriors
from vggzoo.eval.network import load_network
from vggzoo.plugins.registry import EVAL_PROTOCOLS
from vggzoo.data.samples import PHOTOS, load_photo
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.cli.main import main
from vggzoo_export.protocol.reference import log_posterior_diff
from vggzoo_export.protocol.session import ProtocolSession

SCALES = [256, 320]
CLASSES = 20


@pytest.fixture(scope="module")
def bn_weights(tmp_path_factory):
    """A narrow vgg11_bn with batch-norm statistics that matter and peaked
    posteriors (untrained ones are near uniform and would hide errors)."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11_bn", num_classes=CLASSES, width_mult=TINY_WIDTH).eval()
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.uniform_(-0.5, 0.5)
                layer.running_var.uniform_(0.5, 2.0)
                layer.weight.uniform_(0.5, 1.5)
        model.classifier[6].weight.mul_(100)
    path = tmp_path_factory.mktemp("bn") / "vgg11_bn.safetensors"
    cfg = model.pretrained_cfg
    vggzoo.save_weights(model, path, metadata={
        "model": "vgg11_bn", "train_scale": "256", "width_mult": str(TINY_WIDTH),
        "num_classes": str(CLASSES), "preprocessing": json.dumps(cfg["preprocessing"].as_dict())})
    return path


@pytest.fixture(scope="module")
def graph(bn_weights):
    out = bn_weights.with_name("vgg11_bn.onnx")
    assert main(["vgg11_bn", "--weights", str(bn_weights), "--width-mult", str(TINY_WIDTH),
                 "--num-classes", str(CLASSES), "-o", str(out), "--protocol", "dense",
                 "--scales", ",".join(map(str, SCALES))]) == 0
    return out.with_name("vgg11_bn.dense.onnx")


def _photos():
    return [torch.from_numpy(load_photo(name)).permute(2, 0, 1).contiguous() for name in PHOTOS]


def test_batch_norm_model_exports_its_dense_protocol(graph):
    with ProtocolSession(graph, "cpu") as session:
        assert session.protocol["scales"] == SCALES
        assert session.metadata.model == "vgg11_bn"


def test_graph_posteriors_equal_vggzoo_eval_dense_posteriors_on_photos(graph, bn_weights):
    network = load_network(None, bn_weights)  # the torch backend, as `vggzoo eval` builds it
    network.scales = SCALES
    dense = EVAL_PROTOCOLS.get("dense").obj
    photos = _photos()
    expected = protocol_posteriors([network], photos, [dense])["dense"]
    assert expected.max() > 0.2  # peaked posteriors: the comparison has teeth
    with ProtocolSession(graph, "cpu") as session:
        got = torch.cat([session.posteriors(photo) for photo in photos])
    assert got.shape == (len(PHOTOS), CLASSES)
    assert log_posterior_diff(got, expected) <= 1e-4


def test_the_comparison_tells_uint8_from_float_resizing(graph, bn_weights):
    """Sanity check of the test above: the old evaluation semantics (resize
    the uint8 image, round, then convert) are outside its tolerance."""
    network = load_network(None, bn_weights)
    pre = network.runner.preprocessing
    photos = _photos()
    with ProtocolSession(graph, "cpu") as session:
        got = torch.cat([session.posteriors(photo) for photo in photos])
    rounded = []
    for photo in photos:
        views = []
        for q in SCALES:
            x = v2.Compose([v2.Resize(q, antialias=True), v2.ToDtype(torch.float32, scale=True),
                            v2.Normalize(list(pre.mean), list(pre.std))])(photo)
            views += [network.runner.posteriors(x[None]), network.runner.posteriors(x.flip(-1)[None])]
        rounded.append(torch.stack(views).mean(0))
    assert log_posterior_diff(got, torch.cat(rounded)) > 1e-4
