"""A broken network never scores as accurate: non-finite outputs count as
wrong, are counted, and a network whose outputs are all non-finite is an
error (through the metric every runner shares, the API and the CLI)."""

import json

import pytest
import torch
from eval_helpers import save_checkpoint, tiny_model
from safetensors.torch import load_file, save_file

import vggzoo
from vggzoo.cli import main
from vggzoo.eval.metrics import ErrorCounts, correct_at_k
from vggzoo.runtime import TorchRunner
from vggzoo.weights.verify import DIGEST_KEY


def test_nan_and_inf_rows_are_wrong_at_every_k():
    nan, inf = float("nan"), float("inf")
    scores = torch.tensor([[nan, nan, nan], [1.0, nan, 0.0], [inf, 0.0, 0.0], [0.9, 0.1, 0.0]])
    labels = torch.tensor([0, 0, 0, 0])
    assert correct_at_k(scores, labels, (1, 2, 3)) == {1: 1, 2: 1, 3: 1}
    counts = ErrorCounts()
    counts.update(scores, labels)
    assert counts.nonfinite == 3 and counts.error(1) == 75.0 and counts.error(5) == 75.0


class HalfBroken(TorchRunner):
    """NaN logits for every image whose width is even, a real network's for the rest."""

    def logits(self, batch):
        out = super().logits(batch)
        return torch.full_like(out, float("nan")) if batch.shape[-1] % 2 == 0 else out


def test_some_non_finite_outputs_count_as_wrong_and_are_reported(image_folder):
    good = vggzoo.evaluate(runner=TorchRunner(tiny_model()), data=image_folder,
                           protocol="single", scales="224")
    broken = vggzoo.evaluate(runner=HalfBroken(tiny_model()), data=image_folder,
                             protocol="dense", scales="225")
    assert good.nonfinite == 0
    assert 0 < broken.nonfinite < broken.images == 5
    share = 100 * broken.nonfinite / broken.images
    # Every broken image is wrong, so at least that share of the error; with
    # 3 classes every finite row is within the top 5, so top-5 error is that share.
    assert broken.top1_err >= share - 1e-9
    assert broken.top5_err == pytest.approx(share)


def _nan_checkpoint(tmp_path):
    path = save_checkpoint(tiny_model(), tmp_path / "good.safetensors")
    tensors = load_file(str(path))
    tensors["classifier.6.weight"][:] = float("nan")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    metadata.pop(DIGEST_KEY)  # new tensors: the old digest would (rightly) refuse them
    broken = tmp_path / "nan.safetensors"
    save_file(tensors, str(broken), metadata=metadata)
    return broken


def test_eval_of_a_nan_network_is_an_error_not_zero_error(image_folder, tmp_path, capsys):
    weights = _nan_checkpoint(tmp_path)
    out_json = tmp_path / "result.json"
    for protocol in ("single", "dense", "multicrop"):
        code = main(["eval", "--weights", str(weights), "--data", str(image_folder),
                     "--protocol", protocol, "--scales", "224", "--json", str(out_json)])
        captured = capsys.readouterr()
        assert code == 2, protocol
        message = captured.err.strip()
        assert len(message.splitlines()) == 1 and "non-finite" in message and "5 images" in message
        assert "| 0.0 | 0.0 |" not in captured.out
        assert not out_json.exists()


def test_the_table_and_json_carry_the_non_finite_count(image_folder, checkpoint, tmp_path, capsys):
    out_json = tmp_path / "result.json"
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--protocol", "single", "--scales", "224", "--json", str(out_json)]) == 0
    assert "| non-finite |" in capsys.readouterr().out
    assert json.loads(out_json.read_text())["results"][0]["nonfinite"] == 0
