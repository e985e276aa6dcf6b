"""One protocol, any runtime: the paper's evaluation on ONNX Runtime gives
the posteriors of the PyTorch runner."""

import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import OptionError
from vggzoo.eval.network import network_of
from vggzoo.eval.posteriors import protocol_posteriors, resolve_protocols
from vggzoo.runtime import TorchRunner, create_runner
from vggzoo.data.samples import load_photo
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.onnx.export import export_onnx


def _photos():
    return [torch.from_numpy(load_photo(name)[:250, :300].copy()).permute(2, 0, 1).contiguous()
            for name in ("chelsea", "coffee")]


def _photo_folder(root):
    """``root/val/classN/img.png``: one bundled photo per class."""
    for label, image in enumerate(_photos()):
        folder = root / "val" / f"class{label}"
        folder.mkdir(parents=True)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / "img.png")


def test_protocols_on_onnxruntime_match_pytorch(tmp_path):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=4, width_mult=TINY_WIDTH).eval()
    path = export_onnx(model, tmp_path / "m.onnx").path
    protocols = resolve_protocols(["dense", "multicrop", "dense+multicrop"])
    images = _photos()
    networks = [network_of(TorchRunner(model)), network_of(create_runner("onnxruntime", onnx=path))]
    assert networks[1].model == "vgg11" and networks[1].macs(224, 224) == networks[0].macs(224, 224)
    for net in networks:
        net.scales = [256, 288]
    on_torch, on_ort = (protocol_posteriors([net], images, protocols, batch_size=16) for net in networks)
    assert set(on_torch) == {"dense", "multicrop", "dense+multicrop"}
    for name in on_torch:
        torch.testing.assert_close(on_ort[name], on_torch[name], rtol=1e-4, atol=1e-6)


def test_vggzoo_eval_backend_onnxruntime(tmp_path, capsys):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=2, width_mult=TINY_WIDTH).eval()
    path = export_onnx(model, tmp_path / "m.onnx").path
    _photo_folder(tmp_path / "data")
    assert main(["eval", "--backend", "onnxruntime", "--onnx", str(path), "--providers", "cpu",
                 "--data", str(tmp_path / "data"), "--scales", "256", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "dense" in out and "256" in out


def test_a_corrupted_onnx_file_is_an_error_not_a_perfect_score(tmp_path, capsys, monkeypatch):
    """4 KB overwritten in the middle of the weights (0xFF bytes read as NaN
    floats): the file still loads, and evaluation must not score it as 0% error."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=2, width_mult=TINY_WIDTH).eval()
    path = export_onnx(model, tmp_path / "m.onnx").path
    _photo_folder(tmp_path / "data")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    args = ["eval", "--backend", "onnxruntime", "--onnx", str(path), "--providers", "cpu",
            "--data", str(tmp_path / "data"), "--scales", "256", "--no-progress"]
    assert main(args) == 2  # the recorded digest no longer matches the weights
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "Traceback" not in captured.err
    monkeypatch.setenv("VGGZOO_VERIFY", "0")  # unchecked, the NaN weights are still no result
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    assert "non-finite" in captured.err and "Traceback" not in captured.err
    assert "| 0.0 | 0.0 |" not in captured.out


def test_options_that_contradict_an_exported_file_are_errors(tmp_path, capsys):
    """The file decides the network: a --model, --num-classes or --weights
    beside --onnx that disagrees with it is refused, never silently dropped."""
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=2, width_mult=TINY_WIDTH).eval()
    path = export_onnx(model, tmp_path / "m.onnx").path
    _photo_folder(tmp_path / "data")
    common = ["eval", "--backend", "onnxruntime", "--onnx", str(path), "--data",
              str(tmp_path / "data"), "--scales", "256", "--no-progress"]
    assert main([*common, "--model", "vgg11", "--num-classes", "2"]) == 0
    capsys.readouterr()
    for extra, message in [(["--model", "vgg13"], "holds model='vgg11', not 'vgg13'"),
                           (["--num-classes", "5"], "holds num_classes=2, not 5"),
                           (["--weights", str(path)], "--weights is for the torch backend"),
                           (["--runner-option", "thread=2"], "Did you mean: threads?")]:
        assert main([*common, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_onnxruntime_tensorrt_settings_are_reachable_and_typed(tmp_path):
    model = vggzoo.create("vgg11", fully_conv=True, num_classes=2, width_mult=TINY_WIDTH).eval()
    path = export_onnx(model, tmp_path / "m.onnx").path
    runner = create_runner("onnxruntime", onnx=path, providers="cpu", trt_scales="256,384",
                           trt_max_batch="4", trt_cache_dir=str(tmp_path / "cache"))
    assert runner.logits(torch.zeros(1, 3, 256, 256)).shape == (1, 2)
    with pytest.raises(OptionError, match="trt_max_batch='many' is not an integer"):
        create_runner("onnxruntime", onnx=path, trt_max_batch="many")
    with pytest.raises(OptionError, match="Did you mean: trt_scales"):
        create_runner("onnxruntime", onnx=path, trt_scale="256")
