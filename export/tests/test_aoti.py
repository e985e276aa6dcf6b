"""AOTInductor packages: parity at several sizes, entry selection, errors.

One tiny package is compiled per session (the C++ compile dominates)."""

import pytest
import torch

import vggzoo
from vggzoo.errors import InputSizeError
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.aoti.package import AotiRunner, export_aoti, plan_entries
from vggzoo_export.errors import ArtifactError, ExportError


@pytest.fixture(scope="module")
def tiny_package(tmp_path_factory):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY_WIDTH, num_classes=4).eval()
    path = tmp_path_factory.mktemp("aoti") / "tiny_vgg11.pt2"
    return export_aoti(model, path, sizes=[(224, 224)]), model


@pytest.mark.parametrize("size", [(224, 224), (256, 256), (288, 352), (384, 384), (320, 512)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_aoti_package_matches_pytorch_at_sizes_it_was_not_traced_at(tiny_package, size):
    report, model = tiny_package
    x = torch.randn(1, 3, *size)
    with AotiRunner(report.path) as runner, torch.inference_mode():
        assert (runner.logits(x) - model(x)).abs().max() <= 1e-4
    assert all(diff <= 1e-4 for diff in report.parity.values())
    assert "static_224x224 224x224" in report.parity and "dynamic 288x352" in report.parity


def test_aoti_package_carries_metadata_and_refuses_uncovered_sizes(tiny_package):
    report, _ = tiny_package
    with AotiRunner(report.path) as runner:
        assert runner.metadata.model == "vgg11" and runner.num_classes == 4
        assert runner.metadata.config["format"] == "aoti"
        with pytest.raises(InputSizeError, match=r"224x240 is outside .* --sizes 224x240"):
            runner.logits(torch.zeros(1, 3, 224, 240))
        # compiled for batch 1, it takes any batch (split, as protocols need)
        x = torch.randn(3, 3, 256, 256)
        with torch.no_grad():
            assert (runner.logits(x) - _model(tiny_package)(x)).abs().max() <= 1e-4


def _model(tiny_package):
    return tiny_package[1]


def test_small_sizes_get_static_entries_and_bad_sizes_are_refused():
    entries = plan_entries([(224, 224), (300, 300)], 2048)
    assert [e.name for e in entries] == ["dynamic", "static_224x224"]
    with pytest.raises(ExportError, match="below the 224 minimum"):
        plan_entries([(200, 224)], 2048)


def test_corrupt_package_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt2"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="cannot load AOTInductor package .*export it again"):
        AotiRunner(bad)


def test_bench_runs_the_package_beside_torch(tiny_package, capsys):
    from vggzoo_export.cli.main import main

    report, _ = tiny_package
    assert main(["bench", str(report.path), "--sizes", "256x288", "--compare", "torch",
                 "--warmup", "1", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "aoti" in out and "torch" in out and "256x288" in out


def test_bench_refuses_files_of_different_models(tiny_package, tiny_onnx, capsys):
    from vggzoo_export.cli.main import main

    report, _ = tiny_package
    assert main(["bench", str(tiny_onnx), str(report.path)]) == 2
    assert "benchmark one model per run" in capsys.readouterr().err


def test_predict_runs_the_package_through_its_registered_file_option(tiny_package, tmp_path):
    """``vggzoo predict --aoti PKG`` opens the package the way every exported
    file opens (the option the aoti runner registered), and agrees with
    PyTorch on the same photo."""
    import json

    from PIL import Image

    from vggzoo.cli import main as vggzoo_main
    from vggzoo.eval.inference import predict
    from vggzoo.runtime import TorchRunner, open_file
    from vggzoo.data.samples import load_photo

    report, model = tiny_package
    with open_file(report.path) as runner:
        assert runner.name == "aoti"
    photo = tmp_path / "cat.png"
    Image.fromarray(load_photo("chelsea")).save(photo)
    out = tmp_path / "p.json"
    assert vggzoo_main(["predict", str(photo), "--aoti", str(report.path), "--scales", "256",
                        "--no-flip", "--batch-size", "1", "--topk", "3", "--no-progress",
                        "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["backend"] == "aoti"
    expected = predict([photo], runner=TorchRunner(model), scales="256", flip=False, topk=3)
    top = got["predictions"][0]["top"]
    assert [s["index"] for s in top] == [s.index for s in expected.predictions[0].top]
    for ours, theirs in zip(top, expected.predictions[0].top):
        assert abs(ours["probability"] - theirs.probability) < 1e-4


def test_a_batch_1_package_runs_eval_and_predict_with_their_default_batches(
        tiny_package, tmp_path, capsys):
    """Issue 21: a package compiled for batch 1 ran neither ``vggzoo eval
    --aoti`` (batches of 32: "got 32") nor ``predict --aoti`` (an image and
    its flip: "got 2") with their defaults; the runner splits batches."""
    import json

    from vggzoo.cli import main as vggzoo_main
    from vggzoo.eval.evaluate import evaluate
    from vggzoo.runtime import TorchRunner

    from vggzoo.plugins.testing import write_image_folder

    report, model = tiny_package
    image_folder = write_image_folder(tmp_path / "data", classes=4)
    out = tmp_path / "eval.json"
    assert vggzoo_main(["eval", "--aoti", str(report.path), "--data", str(image_folder / "val"),
                        "--scales", "256", "--no-progress", "--json", str(out)]) == 0, \
        capsys.readouterr().err
    ours = json.loads(out.read_text())["results"][0]
    theirs = evaluate(data=image_folder / "val", runner=TorchRunner(model), scales=[256])
    assert ours["images"] == theirs.images == 8
    assert (ours["top1_err"], ours["top5_err"]) == (theirs.top1_err, theirs.top5_err)
    capsys.readouterr()
    photos = sorted((image_folder / "val").rglob("*.png"))[:2]
    assert vggzoo_main(["predict", *map(str, photos), "--aoti", str(report.path), "--scales",
                        "256", "--no-progress", "--json", str(tmp_path / "p.json")]) == 0, \
        capsys.readouterr().err
    assert len(json.loads((tmp_path / "p.json").read_text())["predictions"]) == 2
