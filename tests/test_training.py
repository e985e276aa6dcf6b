"""The training loop: run directory, exact resume after SIGKILL, DDP equals
one process, gradient accumulation, the lr schedule, configs and the CLI."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import ConfigError
from vggzoo.plugins.registry import INITIALIZERS
from vggzoo.training import resolve_config

REPO = Path(__file__).resolve().parents[1]
#: Narrowest useful width: the 224 crops stay cheap on a CPU.
W = 1 / 32
TINY = dict(width_mult=W, crop=224, scale="224", workers=0, progress=False, device="cpu")


def _state(path):
    return load_file(str(path))


def _assert_same_update(a, b, *, seed):
    """Both runs took the same SGD step from the same glorot init."""
    torch.manual_seed(seed)  # what the trainer does before building the model
    start = vggzoo.create("vgg11", num_classes=2, width_mult=W)
    INITIALIZERS.get("glorot").obj(start)
    start = start.state_dict()
    assert a.keys() == b.keys() == start.keys()
    for key in a:
        update_a, update_b = a[key] - start[key], b[key] - start[key]
        assert update_a.abs().max() > 0, key
        assert torch.allclose(update_a, update_b, rtol=1e-3, atol=1e-8), key


def test_run_directory_has_config_metrics_checkpoints_and_loadable_weights(image_folder, tmp_path):
    out = tmp_path / "run"
    result = vggzoo.train("vgg11", image_folder, out, epochs=2, batch_size=4, init="glorot",
                          **TINY)
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "vgg11" and config["recipe"] == "paper-s256"
    assert config["momentum"] == 0.9 and config["weight_decay"] == 5e-4 and config["dropout"] == 0.5
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and result.epochs == 2 and result.steps == 4
    assert {"train_loss", "val_loss", "val_top1_err", "val_top5_err", "lr", "time_s",
            "images_per_s", "skipped_images", "effective_batch"} <= set(rows[0])
    assert (out / "checkpoints" / "last.pt").is_file() and (out / "checkpoints" / "best.pt").is_file()
    model = vggzoo.create("vgg11", num_classes=2, width_mult=W, weights=result.weights)
    from safetensors import safe_open

    with safe_open(str(result.weights), "pt") as handle:
        meta = handle.metadata()
    assert meta["train_scale"] == "224" and meta["num_classes"] == "2" and meta["model"] == "vgg11"
    assert json.loads(meta["classes"]) == ["class0", "class1"]
    assert model.pretrained_cfg["preprocessing"].name == "mean-rgb"


def test_unreadable_image_is_counted_and_training_goes_on(image_folder, tmp_path):
    (image_folder / "train" / "class1" / "broken.png").write_bytes(b"garbage")
    vggzoo.train("vgg11", image_folder, tmp_path / "run", epochs=1, batch_size=9, init="glorot",
                 **TINY)
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert row["skipped_images"] == 1


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys, torch
    torch.set_num_threads(1)
    import vggzoo
    kill_at = int(sys.argv[3])
    def kill(trainer):
        if trainer.step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    options = dict(epochs=2, batch_size=4, micro_batch=2, init="glorot", width_mult=1/32,
                   scale="224:240", workers=0, progress=False, device="cpu",
                   deterministic=True, checkpoint_every=1, seed=5)
    resume = sys.argv[4] == "resume"
    vggzoo.train("vgg11", sys.argv[1], sys.argv[2], resume=resume,
                 callbacks=[kill] if kill_at else [], **({} if resume else options))
""")


def test_resume_after_sigkill_mid_epoch_is_bitwise_equal(image_folder, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def run(out, kill_at, mode):
        return subprocess.run([sys.executable, str(script), str(image_folder), str(out),
                               str(kill_at), mode], env=env, capture_output=True, text=True)

    whole = run(tmp_path / "whole", 0, "fresh")
    assert whole.returncode == 0, whole.stderr
    # 8 images, batch 4 in micro-batches of 2: two steps per epoch; step 3 is mid-epoch 2.
    killed = run(tmp_path / "killed", 3, "fresh")
    assert killed.returncode == -signal.SIGKILL
    # Killed in epoch 2: the weights file is epoch 1's (the best so far), usable already.
    best = torch.load(tmp_path / "killed" / "checkpoints" / "best.pt", weights_only=True)
    early = _state(tmp_path / "killed" / "model.safetensors")
    assert best["epoch"] == 1 and all(torch.equal(early[k], best["model"][k]) for k in early)
    resumed = run(tmp_path / "killed", 0, "resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = _state(tmp_path / "whole" / "model.safetensors"), _state(tmp_path / "killed" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last_a = torch.load(tmp_path / "whole" / "checkpoints" / "last.pt", weights_only=True)
    last_b = torch.load(tmp_path / "killed" / "checkpoints" / "last.pt", weights_only=True)
    for key, value in last_a["optimizer"]["state"].items():
        assert torch.equal(value["momentum_buffer"], last_b["optimizer"]["state"][key]["momentum_buffer"])
    assert last_a["step"] == last_b["step"] == 4
    rows_a = (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    rows_b = (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    strip = lambda rows: [{k: v for k, v in json.loads(r).items()  # noqa: E731
                           if k not in ("time_s", "images_per_s")} for r in rows]
    assert strip(rows_a) == strip(rows_b)


DDP_RUN = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    import vggzoo
    vggzoo.train("vgg11", sys.argv[1], sys.argv[2], epochs=1, max_steps=1, batch_size=8,
                 micro_batch=int(sys.argv[3]), init="glorot", dropout=0.0, width_mult=1/32,
                 scale="224:256", workers=0, progress=False, device="cpu", seed=2)
""")


def test_two_gloo_processes_equal_one_process_on_the_same_global_batch(image_folder, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_RUN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", str(script), str(image_folder),
                          str(tmp_path / "ddp"), "4"], env=env, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, str(script), str(image_folder), str(tmp_path / "one"), "8"],
                         env=env, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = _state(tmp_path / "ddp" / "model.safetensors"), _state(tmp_path / "one" / "model.safetensors")
    _assert_same_update(a, b, seed=2)
    # Only rank 0 wrote: one metrics line, one config.
    assert len((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()) == 1


def test_gradient_accumulation_equals_the_full_batch(image_folder, tmp_path):
    common = dict(epochs=1, max_steps=1, batch_size=8, init="glorot", dropout=0.0, **TINY)
    vggzoo.train("vgg11", image_folder, tmp_path / "full", micro_batch=8, **common)
    vggzoo.train("vgg11", image_folder, tmp_path / "accum", micro_batch=2, **common)
    a, b = _state(tmp_path / "full" / "model.safetensors"), _state(tmp_path / "accum" / "model.safetensors")
    _assert_same_update(a, b, seed=0)


def test_lr_divided_by_10_on_plateau_and_stop_after_the_third_drop(image_folder, tmp_path):
    # With a negligible lr the val accuracy never improves: every epoch after
    # the first is a plateau (patience 0).
    result = vggzoo.train("vgg11", image_folder, tmp_path / "run", epochs=20, batch_size=8,
                          init="glorot", lr=1e-12, patience=0, **TINY)
    lrs = [r["lr"] for r in result.metrics]
    assert lrs == pytest.approx([1e-12, 1e-12, 1e-13, 1e-14, 1e-15])
    assert result.epochs == 5


def test_recipes_resolve_in_order_recipe_file_options(tmp_path):
    (tmp_path / "c.toml").write_text('lr = 0.5\nepochs = 3\n')
    cfg = resolve_config("paper-s384", tmp_path / "c.toml", model="vgg16", data="d", out="o",
                         init_from="runs/s256", epochs=7)
    assert (cfg.scale, cfg.lr, cfg.epochs, cfg.init) == ("384", 0.5, 7, "from-checkpoint")
    jitter = resolve_config("paper-jitter", init_from="runs/s384")
    assert jitter.scale_range.jittered and (jitter.scale_range.smin, jitter.scale_range.smax) == (256, 512)
    assert resolve_config().batch_size == 256 and resolve_config().lr == 1e-2


def test_chained_recipe_without_init_from_is_a_clear_error():
    with pytest.raises(ConfigError, match="pass --init-from RUN_DIR"):
        resolve_config("paper-s384")


def test_unknown_option_and_recipe_suggest_names():
    with pytest.raises(ConfigError, match="Did you mean: batch_size"):
        resolve_config(batchsize=3)
    with pytest.raises(ConfigError, match="Did you mean: paper-s256"):
        resolve_config("paper-s265")


def test_batch_must_be_a_multiple_of_the_micro_batch(image_folder, tmp_path):
    with pytest.raises(ConfigError, match="not a multiple of micro batch 3"):
        vggzoo.train("vgg11", image_folder, tmp_path / "r", batch_size=8, micro_batch=3, **TINY)


def test_cli_train_then_plot(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "A", "--data", str(image_folder), "--out", str(out),
                 "--epochs", "1", "--batch-size", "4", "--width-mult", str(W), "--scale", "224",
                 "--init", "glorot", "--workers", "0", "--no-progress", "--device", "cpu"]) == 0
    assert "best val top-1 error" in capsys.readouterr().out
    assert main(["plot", str(out)]) == 0
    for name in ("loss.png", "error.png", "lr.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_cli_bad_data_is_one_line(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "does not exist; pass --data DIR" in err and "Traceback" not in err


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "start it without --resume" in capsys.readouterr().err


def test_plot_of_a_non_run_is_a_clear_error(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "metrics.jsonl does not exist" in capsys.readouterr().err


def test_the_papers_chain_a_then_b_from_a_then_s384_then_jitter(image_folder, tmp_path):
    common = dict(epochs=1, batch_size=4, width_mult=W, workers=0, progress=False, device="cpu")
    a = vggzoo.train("vgg11", image_folder, tmp_path / "a", init="glorot", scale="224", **common)
    b = vggzoo.train("vgg13", image_folder, tmp_path / "b", init="from-a", init_from=tmp_path / "a",
                     scale="224", **common)
    b384 = vggzoo.train("vgg13", image_folder, tmp_path / "b384", recipe="paper-s384",
                        init_from=b.run_dir, **common)
    jitter = vggzoo.train("vgg13", image_folder, tmp_path / "bj", recipe="paper-jitter",
                          init_from=b384.run_dir, **common)
    config = json.loads((jitter.run_dir / "config.json").read_text())
    assert (config["scale"], config["lr"], config["init"]) == ("256:512", 1e-3, "from-checkpoint")
    from safetensors import safe_open

    with safe_open(str(jitter.weights), "pt") as handle:
        assert handle.metadata()["train_scale"] == "256:512"
    assert _state(a.weights)["features.0.weight"].shape == _state(b.weights)["features.0.weight"].shape


def test_bf16_autocast_and_channels_last_on_cpu(image_folder, tmp_path):
    result = vggzoo.train("vgg11", image_folder, tmp_path / "r", epochs=1, max_steps=1, batch_size=8,
                          init="glorot", amp="bf16", **{**TINY, "channels_last": True})
    assert result.steps == 1 and result.metrics[0]["train_loss"] > 0
