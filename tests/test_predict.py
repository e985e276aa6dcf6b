"""``vggzoo predict`` and ``vggzoo.predict`` on scikit-image's photos: a
folder walked, a glob, unreadable files skipped, torchvision-format weights
recognised by their SHA-256, any protocol, JSON and CSV, batches of one size."""

import csv
import hashlib
import json
import types

import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

import vggzoo
from vggzoo.cli import main
from vggzoo.weights.named import NamedWeights
from vggzoo.data.preprocess import TORCHVISION, to_input
from vggzoo.runtime import TorchRunner
from vggzoo.data.samples import load_photo
from vggzoo.plugins.testing import TINY_WIDTH, plugin_registered


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """scikit-image's photos in a folder tree, with a broken JPEG and a note."""
    root = tmp_path_factory.mktemp("photos")
    (root / "more").mkdir()
    Image.fromarray(load_photo("chelsea")).save(root / "chelsea.jpg", quality=95)
    Image.fromarray(load_photo("astronaut")).save(root / "astronaut.png")
    Image.fromarray(load_photo("coffee")).save(root / "more" / "coffee.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def tv_file(tmp_path_factory):
    """torchvision-format weights (torchvision's keys, a .pth state dict),
    random values at a small width, under a name torchvision never uses."""
    torch.manual_seed(7)
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH)
    path = tmp_path_factory.mktemp("weights") / "my-vgg.pth"
    torch.save(model.state_dict(), path)
    return path


def _plugin_naming(path):
    """A plugin registering ``path`` as named weights (by its SHA-256) with
    torchvision's preprocessing and ImageNet's class names."""
    from torchvision.models import VGG11_Weights

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = NamedWeights(model="vgg11", file_name=path.name, sha256=digest,
                        preprocessing=TORCHVISION, num_classes=1000, width_mult=TINY_WIDTH,
                        classes=tuple(VGG11_Weights.IMAGENET1K_V1.meta["categories"]),
                        train_scale="256", source="a test plugin")
    plugin = types.SimpleNamespace()

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("vgg11.test_in1k", spec)

    plugin.vggzoo_register_weights = vggzoo_register_weights
    return plugin


def _dense_posteriors(model, image, preprocessing, scale):
    """The paper's dense protocol written out by hand: the fully-conv net on
    the image and its flip at scale Q, soft-max posteriors averaged."""
    x = to_input(preprocessing, scale=scale)(image).as_subclass(torch.Tensor)[None]
    with torch.no_grad():
        probs = [model(t).softmax(dim=1) for t in (x, F.horizontal_flip(x))]
    return (probs[0] + probs[1])[0] / 2


def test_predict_cli_names_imagenet_classes_of_recognised_weights(photos, tv_file, tmp_path,
                                                                  capsys, fresh_plugins):
    from torchvision.models import VGG11_Weights

    categories = VGG11_Weights.IMAGENET1K_V1.meta["categories"]
    out = tmp_path / "predictions.json"
    with plugin_registered(_plugin_naming(tv_file)):
        assert main(["predict", str(photos), "--weights", str(tv_file), "--model", "vgg11",
                     "--topk", "3", "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    paths = [p["path"] for p in data["predictions"]]
    assert paths == [str(photos / "astronaut.png"), str(photos / "chelsea.jpg"),
                     str(photos / "more" / "coffee.png")]
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert set(skipped) == {str(photos / "broken.jpg"), str(photos / "notes.txt")}
    assert "broken.jpg" in printed and "notes.txt" in printed
    assert data["class_names"] == "weights" and data["scales"] == [256]
    # The file was recognised by its hash: torchvision's preprocessing, the
    # registered class names, the registered training scale.
    model = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY_WIDTH,
                          weights=torch.load(tv_file, weights_only=True)).eval()
    for item in data["predictions"]:
        assert len(item["top"]) == 3
        for score in item["top"]:
            assert score["name"] == categories[score["index"]]
        image = Image.open(item["path"]).convert("RGB")
        expected = _dense_posteriors(model, image, TORCHVISION, 256)
        top = expected.topk(3)
        assert [s["index"] for s in item["top"]] == top.indices.tolist()
        assert [s["probability"] for s in item["top"]] == pytest.approx(top.values.tolist(),
                                                                         rel=1e-4)
    assert categories[data["predictions"][0]["top"][0]["index"]] in printed


def test_unrecognised_file_gets_the_paper_preprocessing(photos, tv_file):
    """The same bytes without the registered hash are not torchvision's
    weights: the mean-RGB default applies and the posteriors differ."""
    result = vggzoo.predict(photos / "chelsea.jpg", weights=tv_file, model="vgg11", topk=1)
    model = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY_WIDTH,
                          weights=torch.load(tv_file, weights_only=True)).eval()
    image = Image.open(photos / "chelsea.jpg").convert("RGB")
    expected = _dense_posteriors(model, image, vggzoo.PAPER, 256)
    assert result.predictions[0].top[0].probability == pytest.approx(expected.max().item(),
                                                                     rel=1e-4)
    assert result.class_names == "imagenet"  # 1000 classes, no names recorded


@pytest.mark.parametrize("protocol", ["single", "multicrop", "dense+multicrop"])
def test_every_protocol_and_a_glob(photos, tv_file, tmp_path, protocol):
    out = tmp_path / "top.csv"
    assert main(["predict", str(photos / "*.jpg"), str(photos / "**" / "*.png"),
                 "--weights", str(tv_file), "--model", "vgg11", "--protocol", protocol,
                 "--scales", "224,256", "--topk", "2", "--csv", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["path"] for r in rows} == {str(photos / "chelsea.jpg"),
                                        str(photos / "astronaut.png"),
                                        str(photos / "more" / "coffee.png")}
    assert [r["rank"] for r in rows] == ["1", "2"] * 3
    for first, second in zip(rows[::2], rows[1::2]):
        assert 0 < float(second["probability"]) <= float(first["probability"]) <= 1


def test_unwritable_output_fails_before_any_work(tmp_path, capsys):
    code = main(["predict", str(tmp_path / "nothing-here"), "--weights", "missing.pth",
                 "--json", str(tmp_path / "no" / "such" / "dir" / "out.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot write --json" in err and "does not exist" in err and "Traceback" not in err


def test_nothing_readable_is_one_clear_error(tmp_path, tv_file, capsys):
    (tmp_path / "a.jpg").write_bytes(b"junk")
    assert main(["predict", str(tmp_path / "a.jpg"), str(tmp_path / "missing.png"),
                 "--weights", str(tv_file), "--model", "vgg11"]) == 2
    err = capsys.readouterr().err
    assert "no image to predict" in err and "missing.png: no such file" in err


class RecordingRunner(TorchRunner):
    """A torch runner that remembers the shape of every batch it ran."""

    def __init__(self, model):
        super().__init__(model)
        self.batches = []

    def logits(self, batch):
        self.batches.append(tuple(batch.shape))
        return super().logits(batch)


def test_images_of_one_size_share_batches_and_come_back_in_order(tmp_path):
    sizes = [(240, 300), (256, 256), (240, 300), (256, 256)]
    paths = []
    for i, (h, w) in enumerate(sizes):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (w, h), (40 * i, 90, 200 - 40 * i)).save(path)
        paths.append(path)
    runner = RecordingRunner(vggzoo.create("vgg11", num_classes=4, width_mult=TINY_WIDTH))
    seen = []
    result = vggzoo.predict(paths, runner=runner, scales=[256], topk=4, chunk_size=3,
                            progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 4), (4, 4)]
    assert [p.path for p in result.predictions] == [str(p) for p in paths]
    assert [p.size for p in result.predictions] == sizes
    # Images are sorted by size before chunking: the first chunk holds both
    # 240x300 images and one 256x256, so every batch has one size and the
    # two images of a size share one (with their flips).
    assert sorted(runner.batches) == [(2, 3, 256, 256), (2, 3, 256, 256), (4, 3, 256, 320)]
    assert result.class_names == "indices" and result.predictions[0].top[0].name.isdigit()
