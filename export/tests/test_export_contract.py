"""The export distribution's structure: one contract module every exporter
imports, registered exporters whose options are checked before any work,
one way to open an exported file, and no import cycles."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import vggzoo
import vggzoo_export
from vggzoo.errors import OptionError
from vggzoo.plugins.registry import EXPORTERS
from vggzoo.runtime import backend_for_file, open_file
from vggzoo.plugins.testing import plugin_registered
from vggzoo_export.cli.main import main
from vggzoo_export.errors import AgreementError, ExporterOptionError
from vggzoo.plugins.exporters import ExportReport
from vggzoo.plugins.options import accepted_options
from vggzoo_export.core.parity import check_agreement, compare_logits

PACKAGE = Path(vggzoo_export.__file__).parent


def _modules() -> dict[str, Path]:
    return {".".join(("vggzoo_export", *p.relative_to(PACKAGE).with_suffix("").parts))
            .removesuffix(".__init__"): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """vggzoo_export modules that module ``name`` imports anywhere (at load
    time or inside a function), parent packages included; the package root
    is left out (its names load lazily, by string)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        parts = target.split(".")
        for i in range(2, len(parts) + 1):  # importing a.b.c runs a.b and a.b.c
            if ".".join(parts[:i]) in known:
                found.add(".".join(parts[:i]))

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            add(base)
            for alias in node.names:
                add(f"{base}.{alias.name}")
    found.discard(name)
    return found


def test_vggzoo_export_modules_import_each_other_without_cycles():
    """Layers, not a web: the contract below exporters and runtimes, runtimes
    below exporters, CLIs on top (a runtime that imported an exporter for a
    tensor name made the cycle this replaces)."""
    modules = _modules()
    graph = {n: _imports(n, p, set(modules)) for n, p in modules.items()}
    assert "vggzoo_export.core.contract" in graph["vggzoo_export.onnx.runner"]  # the walk sees imports
    assert "vggzoo_export.trt" in graph["vggzoo_export.cli.trt"]  # and parent packages
    cycles = []

    def walk(node: str, stack: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in stack:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in done:
                walk(nxt, stack + [nxt], done)
        done.add(node)

    done: set[str] = set()
    for module in graph:
        walk(module, [module], done)
    assert cycles == []


def test_the_contract_and_the_plugin_load_without_exporters_or_runtimes():
    code = ("import sys, vggzoo_export.core.contract, vggzoo.plugins.exporters, vggzoo_export.plugin\n"
            "print(sorted(m for m in sys.modules if m.startswith(('vggzoo_export', 'onnx'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert eval(out) == ["vggzoo_export", "vggzoo_export.core", "vggzoo_export.core.contract",
                         "vggzoo_export.plugin"]


@pytest.mark.parametrize("module", ["vggzoo_export.onnx.runner", "vggzoo_export.triton",
                                    "vggzoo_export.trt.profiles"])
def test_runtimes_do_not_load_other_backends(module):
    """ONNX Runtime does not load TensorRT code, Triton no argparse helpers
    or runners, a TensorRT helper not the whole TensorRT package."""
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith('vggzoo_export')))")
    out = eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout)
    assert not {"vggzoo_export.trt.runner", "vggzoo_export.trt.builder", "vggzoo_export.cli",
                "vggzoo_export.cli.trt", "vggzoo_export.onnx.export"} & set(out), out
    if module == "vggzoo_export.onnx.runner":
        assert not [m for m in out if m.startswith("vggzoo_export.trt")]


# -- registered exporters ---------------------------------------------------

def test_every_format_is_a_registered_exporter_whose_options_have_defaults():
    assert {"onnx", "aoti", "int8", "protocol-dense", "tensorrt", "triton"} <= set(EXPORTERS.names())
    for name in EXPORTERS.names():
        entry = EXPORTERS.get(name)
        assert entry.info.input == "model" or entry.info.input in EXPORTERS
        options = accepted_options(entry.obj, positional=2)  # after source and output
        assert options, name
        import inspect

        params = inspect.signature(entry.obj).parameters
        assert all(params[o].default is not inspect.Parameter.empty for o in options), name


def test_an_unknown_option_names_close_matches_before_any_work(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["vgg11", "--width-mult", "0.0625", "-o", str(out),
                 "--export-option", "opsett=17"]) == 2
    err = capsys.readouterr().err
    assert "'onnx' does not take that option: 'opsett' (from --export-option)" in err
    assert "Did you mean: opset?" in err and "RANDOM weights" not in err
    assert main(["vgg11", "--width-mult", "0.0625", "--format", "aoti", "-o",
                 str(tmp_path / "m.pt2"), "--opset", "17"]) == 2
    assert "It takes: batch, max_size, sizes" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_protocol_graph_is_an_exporter_with_a_report(tiny_onnx, tmp_path):
    report = EXPORTERS.get("protocol-dense").obj(tiny_onnx, tmp_path / "t.dense.onnx",
                                                 scales=[224])
    assert isinstance(report, ExportReport)
    assert report.files == [tmp_path / "t.dense.onnx"] and report.path.is_file()
    assert report.metadata.model == "vgg16"
    assert list(report.parity) == ["240x320"] and report.parity["240x320"] < 1e-4
    props = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    assert json.loads(props["vggzoo.protocol"])["scales"] == [224]


def test_triton_options_are_checked_before_the_onnx_export(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["A", "--width-mult", "0.0625", "--triton", "repo", "--max-batch", "0"]) == 2
    err = capsys.readouterr().err
    assert "--max-batch must be a positive integer" in err and "RANDOM weights" not in err
    assert list(tmp_path.iterdir()) == []  # no vgg11.onnx left behind


def test_a_format_that_converts_files_is_not_a_model_format(capsys, tmp_path):
    assert main(["vgg11", "--format", "tensorrt", "-o", str(tmp_path / "m.plan")]) == 2
    assert "converts an exported file, not a model" in capsys.readouterr().err


def _weights_exporter():
    """The example exporter of ``vggzoo_register_exporters``' docstring."""
    from safetensors.torch import save_file

    from vggzoo.io import atomic_path
    from vggzoo_export.core.metadata import describe

    def export_weights(model, output, /, *, fully_conv: bool = True):
        net = vggzoo.to_fully_conv(model) if fully_conv else model
        meta = describe(net, format="safetensors")
        with atomic_path(output) as tmp:
            save_file(net.state_dict(), tmp, metadata=meta.to_props())
        return ExportReport(output, [output], meta, parity={}, seconds=0.0)

    class Plugin:
        @vggzoo.hookimpl
        def vggzoo_register_exporters(self, register):
            register("weights", export_weights, suffix=".safetensors", input="model",
                     description="fully-convolutional weights as safetensors")

    return Plugin()


def test_a_third_party_exporter_runs_through_the_cli_with_checked_options(tmp_path, capsys,
                                                                          monkeypatch):
    from safetensors import safe_open

    monkeypatch.chdir(tmp_path)
    with plugin_registered(_weights_exporter()):
        assert main(["vgg11", "--format", "weights", "--opset", "17", "--width-mult",
                     "0.0625"]) == 2
        err = capsys.readouterr().err
        assert "format 'weights' does not take that option: 'opset' (from --opset)" in err
        assert "It takes: fully_conv" in err and "RANDOM weights" not in err
        assert list(tmp_path.iterdir()) == []
        assert main(["vgg11", "--format", "weights", "--width-mult", "0.0625"]) == 0
    out = capsys.readouterr().out
    assert "vgg11 exported as weights" in out and "Not checked against PyTorch" in out
    with safe_open(str(tmp_path / "vgg11.safetensors"), "pt") as f:
        assert f.metadata()["vggzoo.model"] == "vgg11"
        assert "classifier.0.weight" in f.keys()
        assert f.get_tensor("classifier.0.weight").dim() == 4  # fully convolutional


def test_an_exporters_check_gets_the_options_it_names_before_any_work(tmp_path):
    from vggzoo.plugins.exporters import check_values

    seen = []

    class Zipped:
        def __call__(self, model, output, /, *, level: int = 3, fully_conv: bool = True):
            raise AssertionError("the check runs first")

        def check(self, output, /, *, level: int = 3):
            seen.append(level)
            if not 0 <= level <= 9:
                raise OptionError(f"level must be 0-9, got {level}")

    with pytest.raises(OptionError, match="level must be 0-9, got 12"):
        check_values(Zipped(), tmp_path / "m.zip", {"level": 12, "fully_conv": False})
    check_values(Zipped(), tmp_path / "m.zip", {"fully_conv": False})
    assert seen == [12, 3] and list(tmp_path.iterdir()) == []


# -- opening exported files -------------------------------------------------

def test_open_file_picks_the_backend_by_suffix_through_create_runner(tiny_onnx, tiny_vgg16):
    assert backend_for_file("m.plan") == "tensorrt" and backend_for_file("m.pt2") == "aoti"
    with open_file(tiny_onnx, providers="cpu") as runner:
        assert runner.name == "onnxruntime"
        x = torch.randn(1, 3, 224, 224)
        with torch.inference_mode():
            torch.testing.assert_close(runner.logits(x), tiny_vgg16(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(OptionError, match="expected an .onnx or .plan or .pt2 file"):
        open_file("weights.pth")
    with pytest.raises(OptionError, match="torch backend does not open exported files"):
        open_file(tiny_onnx, backend="torch")


# -- agreement --------------------------------------------------------------

def test_agreement_counts_non_finite_images_as_disagreement_and_says_so():
    reference = np.array([[3.0, 2.0, 1.0]] * 4)
    candidate = reference.copy()
    candidate[0, 0] = np.nan
    report = compare_logits(reference, candidate)
    assert report.top1_agreement == 0.75 and report.nonfinite == 1
    assert "1 with non-finite logits" in report.summary()
    check_agreement(report, 0.75, what="int8", images="held-out images")
    with pytest.raises(AgreementError, match=r"int8 top-1 agreement with fp32 is 75\.0% on 4 "
                                             r"held-out images \(1 with non-finite logits\), "
                                             r"below --min-agreement 80\.0%; nothing was written"):
        check_agreement(report, 0.8, what="int8", images="held-out images",
                        threshold="--min-agreement")


def test_export_options_reach_a_plugin_exporter_typed_and_checked(tmp_path, capsys, monkeypatch):
    """``--export-option KEY=VALUE`` sets any option of the --format exporter,
    converted by its type (the string "false" must not arrive as truthy)."""
    from safetensors import safe_open

    monkeypatch.chdir(tmp_path)
    with plugin_registered(_weights_exporter()):
        assert main(["vgg11", "--format", "weights", "--width-mult", "0.0625",
                     "--export-option", "fully_cnv=false"]) == 2
        err = capsys.readouterr().err
        assert "'fully_cnv' (from --export-option). Did you mean: fully_conv?" in err
        assert main(["vgg11", "--format", "weights", "--width-mult", "0.0625",
                     "--export-option", "fully_conv=maybe"]) == 2
        assert "fully_conv='maybe' is not true/false" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []
        assert main(["vgg11", "--format", "weights", "--width-mult", "0.0625",
                     "--export-option", "fully_conv=false"]) == 0
    with safe_open(str(tmp_path / "vgg11.safetensors"), "pt") as f:
        assert f.get_tensor("classifier.0.weight").dim() == 2  # the FC form, as asked
