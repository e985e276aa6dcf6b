"""--multi-scale and --paper-table for a network trained at S < 256: the
paper's Q = S - 32 would be below 224; it is clamped, and the output says so."""

import json

from eval_helpers import save_checkpoint, tiny_model

from vggzoo.cli import main


def test_multi_scale_of_s224_clamps_q_to_224_and_says_so(image_folder, tmp_path, capsys):
    weights = save_checkpoint(tiny_model(), tmp_path / "s224.safetensors", train_scale="224")
    out = tmp_path / "r.json"
    assert main(["eval", "--weights", str(weights), "--data", str(image_folder), "--multi-scale",
                 "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| 224,256 |" in printed  # the test Q column: 192 became 224 (once)
    assert "Q=192" in printed and "clamped to 224" in printed
    result = json.loads(out.read_text())["results"][0]
    assert result["scales"] == [[224, 256]] and "clamped to 224" in result["notes"][0]


def test_paper_table_4_of_s224_runs_and_says_so(image_folder, tmp_path, capsys):
    weights = save_checkpoint(tiny_model(), tmp_path / "s224.safetensors", train_scale="224")
    assert main(["eval", "--weights", str(weights), "--data", str(image_folder),
                 "--paper-table", "4", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| 224,256 |" in printed and "clamped to 224" in printed


def test_scales_at_or_above_224_are_not_touched(image_folder, tmp_path, capsys):
    weights = save_checkpoint(tiny_model(), tmp_path / "s256.safetensors", train_scale="256")
    assert main(["eval", "--weights", str(weights), "--data", str(image_folder), "--multi-scale",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| 224,256,288 |" in printed and "clamped" not in printed
