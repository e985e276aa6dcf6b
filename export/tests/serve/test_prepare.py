"""``vggzoo serve WEIGHTS`` exports the weights first: the model served
records the weights' own test scales (the paper's rule from the training
scale) and their class names."""

import json

import vggzoo
from vggzoo.models.cfg import model_cfg
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo.weights.files import save_weights
from vggzoo_export.serve.prepare import prepare_repository


def test_weights_are_exported_and_served_at_their_test_scales(tmp_path):
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=3)
    path = tmp_path / "w.safetensors"
    facts = model_cfg(model).facts(str(path)).to_metadata()
    facts.update(train_scale="256:512", classes=json.dumps(["cat", "dog", "fox"]))
    weights = save_weights(model, path, metadata=facts)
    name, config = prepare_repository(weights, tmp_path / "repo", multi_scale=True)
    text = config.read_text()
    assert name == "vgg11" and config == tmp_path / "repo" / "vgg11" / "config.pbtxt"
    params = {line.split('"')[1]: json.loads(line.split("string_value: ", 1)[1].rsplit(" } }", 1)[0])
              for line in text.splitlines() if line.startswith("parameters")}
    assert json.loads(params["scales"]) == [256, 384, 512]
    assert (tmp_path / "repo" / "vgg11" / "labels.txt").read_text() == "cat\ndog\nfox\n"
    name, config = prepare_repository(weights, tmp_path / "repo", name="single")
    assert '"[384]"' in config.read_text()            # single scale: (Smin + Smax) / 2
