"""The ``vggzoo`` command line."""

import json

import pytest

from vggzoo.cli import main


def test_list_with_pattern(capsys):
    assert main(["list", "vgg16*"]) == 0
    out = capsys.readouterr().out
    assert "vgg16_bn" in out and "vgg16_c" in out and "vgg19" not in out


def test_info_prints_facts_and_paper_table(capsys):
    assert main(["info", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "138,357,544" in out and "15.47" in out and "24.4" in out


@pytest.mark.parametrize("name, table2", [("A", "133 M"), ("C", "134 M"), ("E", "144 M")])
def test_info_labels_every_number_with_its_source(name, table2, capsys):
    """The paper's Table 2 gives parameters in millions and no FLOPs; exact
    counts are ours or torchvision's metadata, and say so."""
    assert main(["info", name]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{table2} (paper, Table 2)" in out and "(counted here)" in out
    assert "none given in the paper" in out and "(paper:" not in out
    data = json.loads((main(["info", name, "--json"]), capsys.readouterr().out)[1])
    assert data["paper_params_m"] == int(table2.split()[0])
    if name != "C":  # torchvision has no config C
        assert data["torchvision_params"] == data["params"]


def test_info_json(capsys):
    assert main(["info", "A", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "vgg11" and data["params"] == 132_863_336


def test_unknown_model_is_one_clear_line(capsys):
    assert main(["info", "vgg61"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'vgg61'" in err and "Did you mean" in err and "Traceback" not in err


def test_plugins_lists_the_builtin_models(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "vggzoo.models.builtin" in out and "vgg19_bn" in out


def test_demo_runs_dense_inference_of_full_size_vgg16(capsys):
    with pytest.warns(UserWarning, match="RANDOM weights"):
        assert main(["demo", "--scale", "256"]) == 0
    out = capsys.readouterr().out
    assert "score map shape: (1, 1000, 2, 6)" in out  # 300x451 photo -> 256x385: 8-7+1, 12-7+1
    assert "top-5" in out
