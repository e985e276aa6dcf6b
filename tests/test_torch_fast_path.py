"""The PyTorch runner's fast path: what runs on CPU is compared with the
default fp32 path; CUDA-only options fail clearly without CUDA; GPU tests
(marked gpu) check CUDA graphs and torch.compile against eager."""

import pytest
import torch

import vggzoo
import vggzoo.runtime.machine
from vggzoo.errors import BackendUnavailableError, OptionError
from vggzoo.runtime import TorchRunner, create_runner
from vggzoo.plugins.testing import TINY_WIDTH

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA GPU (none is visible)")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return vggzoo.create("vgg16", fully_conv=True, width_mult=TINY_WIDTH).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(5, 3, 256, 320, generator=torch.Generator().manual_seed(1)) * 255 - 120


def test_plain_eager_is_the_models_own_forward(model, images):
    with torch.no_grad():
        expected = model(images)
    assert torch.equal(TorchRunner(model, plain_eager=True).logits(images), expected)


def test_default_is_fast_and_equals_plain_eager(model, images):
    import copy

    fast, plain = TorchRunner(copy.deepcopy(model)), TorchRunner(copy.deepcopy(model),
                                                                 plain_eager=True)
    assert fast.channels_last and not plain.channels_last
    conv = lambda runner: runner.model.features[2].weight  # noqa: E731
    assert conv(fast).is_contiguous(memory_format=torch.channels_last)
    assert conv(plain).is_contiguous() and not conv(plain).is_contiguous(
        memory_format=torch.channels_last)
    calls, threads = [], []
    before = torch.get_num_threads()

    def record(_module, args):
        calls.append(args[0])
        threads.append(torch.get_num_threads())

    handle = fast.model.register_forward_pre_hook(record)
    try:
        got = fast.logits(images)
    finally:
        handle.remove()
    assert calls[0].is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, plain.logits(images), rtol=1e-4, atol=1e-6)
    # At most one thread per physical core while the runner computes, and the
    # process's own setting is back afterwards (training may share the process).
    assert threads[0] <= vggzoo.runtime.machine.physical_cores()
    assert torch.get_num_threads() == before
    with pytest.raises(OptionError, match="plain_eager runs the NCHW layout"):
        TorchRunner(model, plain_eager=True, channels_last=True)


def test_eval_cli_default_and_plain_eager_agree(tmp_path, capsys):
    from vggzoo.cli import main
    from vggzoo.plugins.testing import write_image_folder

    data = write_image_folder(tmp_path / "data")
    weights = vggzoo.save_weights(vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH),
                                  tmp_path / "w.safetensors")

    def result(*extra):
        assert main(["eval", "--weights", str(weights), "--model", "vgg11", "--data", str(data),
                     "--width-mult", str(TINY_WIDTH), "--num-classes", "2",
                     "--scales", "224", "--no-progress", "--json", str(tmp_path / "r.json"),
                     *extra]) == 0
        import json

        row = json.loads((tmp_path / "r.json").read_text())["results"][0]
        return row["top1_err"], row["top5_err"], row["images"]

    assert result() == result("--plain-eager")


def test_channels_last_and_sized_batches_give_the_fp32_results(model, images):
    reference = TorchRunner(model, plain_eager=True).logits(images)
    runner = TorchRunner(model, channels_last=True, batch_pixels=2 * 256 * 320)
    calls = []
    handle = runner.model.register_forward_pre_hook(lambda _, args: calls.append(args[0]))
    try:
        got = runner.logits(images)
    finally:
        handle.remove()
    assert [x.shape[0] for x in calls] == [2, 2, 1]          # 5 images, 2 per piece
    assert all(x.is_contiguous(memory_format=torch.channels_last) for x in calls)
    torch.testing.assert_close(got, reference, rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not vggzoo.runtime.machine.has_native_bf16(),
                    reason="this CPU has no avx512_bf16/amx_bf16 (bf16 is refused there)")
def test_bf16_autocast_on_cpu_agrees_with_fp32(model, images):
    reference = TorchRunner(model).logits(images)
    got = TorchRunner(model, precision="bf16", channels_last=True).logits(images)
    assert got.dtype == torch.float32
    assert (got - reference).abs().max() < 0.02 * reference.abs().max()
    assert not torch.equal(got, reference)                  # it did run in bf16
    assert torch.equal(got.argmax(1), reference.argmax(1))
    top5 = lambda t: t.topk(5).indices.sort().values
    assert torch.equal(top5(got), top5(reference))


def test_bf16_on_a_cpu_without_it_is_refused_in_one_line(model, monkeypatch):
    flags = vggzoo.runtime.machine.cpu_flags() - {"avx512_bf16", "amx_bf16"}
    monkeypatch.setattr(vggzoo.runtime.machine, "cpu_flags", lambda: flags)
    with pytest.raises(BackendUnavailableError) as info:
        TorchRunner(model, precision="bf16")
    assert "no avx512_bf16 or amx_bf16" in str(info.value) and "\n" not in str(info.value)


def test_options_are_validated(model):
    with pytest.raises(OptionError, match="unknown precision 'fp8'.*fp32, bf16, fp16"):
        TorchRunner(model, precision="fp8")
    with pytest.raises(OptionError, match="unknown compile mode 'static'.*none, dynamic"):
        TorchRunner(model, compile="static")
    with pytest.raises(OptionError, match="batch_pixels must be a positive"):
        TorchRunner(model, batch_pixels=0)


def test_cuda_only_options_fail_clearly_on_cpu(model):
    with pytest.raises(BackendUnavailableError, match="CUDA graphs need a CUDA device, not cpu"):
        TorchRunner(model, cuda_graphs=True)
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="no CUDA GPU is visible"):
            TorchRunner(model, device="cuda", precision="bf16")


def test_create_runner_passes_the_fast_path_options(tmp_path, images):
    weights = vggzoo.save_weights(vggzoo.create("vgg11", width_mult=TINY_WIDTH),
                                  tmp_path / "w.safetensors")
    precision = "bf16" if vggzoo.runtime.machine.has_native_bf16() else "fp32"
    runner = create_runner("torch", model="vgg11", weights=weights, width_mult=TINY_WIDTH,
                           precision=precision, channels_last=True, batch_pixels=3 * 256 * 320)
    assert runner.precision == precision and runner.channels_last
    assert runner.logits(images).shape == (5, 1000)


@pytest.mark.gpu
@requires_cuda
def test_cuda_graphs_per_scale_match_eager(model):
    eager = TorchRunner(model, device="cuda")
    graphs = TorchRunner(model, device="cuda", channels_last=True, cuda_graphs=True,
                         batch_pixels=4 * 256 * 256)
    for shape in [(10, 3, 256, 256), (3, 3, 384, 288), (10, 3, 256, 256)]:
        x = torch.rand(shape) * 255 - 120
        want = eager.logits(x)  # both may use TF32 convolutions (PyTorch's default)
        assert (graphs.logits(x) - want).abs().max() < 1e-2 * want.abs().max()
    # 256x256: pieces of 4 (the last one padded) -> one graph; 384x288: one more
    assert len(graphs._graphs.graphs) == 2


@pytest.mark.gpu
@requires_cuda
def test_compile_with_dynamic_height_and_width_matches_eager(model):
    eager = TorchRunner(model, device="cuda")
    compiled = TorchRunner(model, device="cuda", precision="bf16", channels_last=True,
                           compile="dynamic")
    for shape in [(2, 3, 256, 320), (2, 3, 384, 384)]:
        x = torch.rand(shape) * 255 - 120
        want = eager.logits(x)
        assert (compiled.logits(x) - want).abs().max() < 0.02 * want.abs().max()
