"""``vggzoo eval``: Markdown table, JSON, paper tables, one-line errors."""

import json

from eval_helpers import save_checkpoint, tiny_model

from vggzoo.cli import main


def test_eval_prints_a_markdown_table_and_writes_json(image_folder, checkpoint, tmp_path, capsys):
    out_json = tmp_path / "result.json"
    (image_folder / "val" / "cat" / "empty.jpg").write_bytes(b"")
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--protocol", "single,dense", "--scales", "224", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "| config | train S | test Q | protocol | top-1 err % | top-5 err % |" in out
    assert "| A | 256 | 224 | single |" in out and "| A | 256 | 224 | dense |" in out
    assert "skipped 1 unreadable image(s)" in out and "empty.jpg" in out
    data = json.loads(out_json.read_text())
    assert [r["protocol"] for r in data["results"]] == ["single", "dense"]
    assert data["results"][0]["images"] == 5 and data["results"][0]["gflops_per_image"] > 0


def test_paper_table_3_puts_the_papers_numbers_next_to_ours(image_folder, checkpoint, capsys):
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--paper-table", "3"]) == 0
    out = capsys.readouterr().out
    assert "Table 3" in out and "paper top-1 %" in out
    # vgg11 (A) trained at S = 256, tested at Q = 256: the paper reports 29.6 / 10.4.
    row = next(line for line in out.splitlines() if line.startswith("| A |"))
    assert row.split(" | ")[1:4] == ["256", "256", "dense"] and row.endswith("| 29.6 | 10.4 |")


def test_paper_table_6_fuses_the_given_networks(image_folder, tmp_path, capsys):
    d = save_checkpoint(tiny_model("vgg16"), tmp_path / "d.safetensors", "256:512")
    e = save_checkpoint(tiny_model("vgg19"), tmp_path / "e.safetensors", "256:512")
    for name in ("cat/chelsea_wide.png", "cup/coffee.png", "person/astronaut.png"):
        (image_folder / "val" / name).unlink()  # two images keep 2 x 25 crops quick
    assert main(["eval", "--weights", str(d), str(e), "--data", str(image_folder),
                 "--paper-table", "6", "--scales", "224", "--no-flip"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| D+E"))
    assert "dense+multicrop (no flip)" in row and row.endswith("| 23.7 | 6.8 |")


def test_bad_input_is_one_line_without_traceback(image_folder, checkpoint, capsys):
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--protocol", "multicorp", "--scales", "224"]) == 2
    err = capsys.readouterr().err
    assert "unknown evaluation protocol 'multicorp'" in err and "multicrop" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--paper-table", "6"]) == 2
    assert "two or more --weights" in capsys.readouterr().err


def test_paper_numbers_only_sit_next_to_the_protocol_they_report():
    from vggzoo.eval.result import EvalResult
    from vggzoo.eval.tables import paper_result

    def result(protocol):
        return EvalResult(protocol=protocol, models=["vgg16"], configs=["D"], weights=["d"],
                          train_scales=["[256;512]"], scales=[[256, 384, 512]], flip=True,
                          backend="torch", images=1, top1_err=0.0, top5_err=0.0, skipped=[],
                          seconds_per_image=0.0, wall_seconds=0.0, macs_per_image=None)

    assert paper_result(result("dense"), 5) is None
    combined = paper_result(result("dense+multicrop"), 5)
    assert (combined["top1_err"], combined["top5_err"]) == (24.4, 7.2)
    assert paper_result(result("dense"), 4)["top1_err"] == 24.8
