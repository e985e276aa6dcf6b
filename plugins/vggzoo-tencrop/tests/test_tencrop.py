"""The 10-crop protocol plugin."""

import pytest
import torch
from PIL import Image

import vggzoo
import vggzoo_tencrop.plugin as tencrop
from vggzoo.cli import main
from vggzoo.errors import InputSizeError
from vggzoo.plugins.registry import EVAL_PROTOCOLS
from vggzoo.runtime import TorchRunner
from vggzoo.data.samples import load_photo
from vggzoo.plugins.testing import TINY_WIDTH


@pytest.fixture
def runner(vggzoo_register):
    vggzoo_register(tencrop)
    torch.manual_seed(0)
    return TorchRunner(vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH))


def test_registered_as_a_protocol(runner):
    assert "tencrop" in EVAL_PROTOCOLS.names()
    assert isinstance(EVAL_PROTOCOLS.get("tencrop").obj, tencrop.TenCrop)


def _boxes(h, w, s=224):
    top, left = int(round((h - s) / 2)), int(round((w - s) / 2))
    return [(0, 0), (0, w - s), (h - s, 0), (h - s, w - s), (top, left)]


@pytest.mark.parametrize("flip", [True, False])
def test_posteriors_average_the_corner_and_centre_crops(runner, flip):
    image = torch.randn(3, 250, 300)
    crops = [image[:, t:t + 224, l:l + 224] for t, l in _boxes(250, 300)]
    if flip:
        crops += [c.flip(-1) for c in crops]
    expected = runner.posteriors(torch.stack(crops)).mean(dim=0)
    got = EVAL_PROTOCOLS.get("tencrop").obj.posteriors(runner, [image], flip=flip, batch_size=4)
    torch.testing.assert_close(got[0], expected, rtol=1e-5, atol=1e-6)


def test_at_224_without_flip_it_is_the_single_crop(runner):
    image = torch.randn(3, 224, 224)
    single = EVAL_PROTOCOLS.get("single").obj.posteriors(runner, [image], flip=False, batch_size=8)
    ten = EVAL_PROTOCOLS.get("tencrop").obj.posteriors(runner, [image], flip=False, batch_size=8)
    torch.testing.assert_close(ten, single)


def test_scale_below_224_is_refused(runner):
    with pytest.raises(InputSizeError, match="Q >= 224"):
        EVAL_PROTOCOLS.get("tencrop").obj.posteriors(runner, [torch.randn(3, 200, 300)],
                                                     flip=True, batch_size=8)


def test_vggzoo_eval_protocol_tencrop(runner, tmp_path, capsys):
    for cls, photo in enumerate(("chelsea", "coffee", "astronaut")):
        folder = tmp_path / "val" / f"class{cls}"
        folder.mkdir(parents=True)
        Image.fromarray(load_photo(photo)[:240, :260]).save(folder / f"{photo}.png")
    weights = vggzoo.save_weights(runner.model, tmp_path / "w.safetensors")
    code = main(["eval", "--model", "vgg11", "--weights", str(weights), "--width-mult",
                 str(TINY_WIDTH), "--num-classes", "3", "--data", str(tmp_path),
                 "--protocol", "tencrop", "--scales", "240", "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "tencrop" in out and "240" in out
