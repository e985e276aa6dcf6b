"""The options of a ``vggzoo-export`` run are checked once, before any
work, and a value is checked by its exporter's annotation: a choice the
exporter does not have is refused before the model is built, and every
offered option can be given on the command line."""

import pytest

from vggzoo_export.cli.main import export_parser, main
from vggzoo_export.cli.plan import plan_export


def test_an_exporter_choice_it_does_not_have_is_refused_before_the_model_is_built(tmp_path,
                                                                                   capsys):
    out = tmp_path / "m.onnx"
    assert main(["vgg11", "--width-mult", "0.0625", "-o", str(out),
                 "--export-option", "exporter=foo"]) == 2
    err = capsys.readouterr().err
    assert "exporter='foo' is not one of torchscript, dynamo" in err
    assert "RANDOM weights" not in err and "Traceback" not in err  # nothing was built
    assert list(tmp_path.iterdir()) == []


def test_parity_sizes_can_be_given_and_are_the_sizes_checked(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["vgg11", "--width-mult", "0.0625", "--num-classes", "5", "-o", str(out),
                 "--export-option", "parity_sizes=224x224,256x288"]) == 0
    table = capsys.readouterr().out
    assert "224x224:" in table and "256x288:" in table and "256x320" not in table
    assert main(["vgg11", "--width-mult", "0.0625", "-o", str(tmp_path / "n.onnx"),
                 "--export-option", "parity_sizes=224"]) == 2
    assert "parity_sizes='224' is not of the form" in capsys.readouterr().err


def test_each_steps_options_are_checked_once(monkeypatch, tmp_path):
    import vggzoo.plugins.options as options

    seen = []
    real = options.check_keys

    def counted(func, opts, **kwargs):
        seen.append(kwargs["what"])
        return real(func, opts, **kwargs)

    monkeypatch.setattr(options, "check_keys", counted)
    args = export_parser().parse_args(["vgg11", "-o", str(tmp_path / "m.onnx"), "--protocol",
                                       "dense", "--export-option", "opset=17"])
    steps = plan_export(args)
    assert [s.format for s in steps] == ["onnx", "protocol-dense"]
    assert steps[0].options["opset"] == 17  # converted by the annotation, once
    assert seen == ["format 'onnx'", "format 'protocol-dense'"]
