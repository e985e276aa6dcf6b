"""Every training option is checked before anything is built, for the CLI
and the API alike: one line naming the option and its valid range, exit 2,
and no run directory, data read or model built."""

import math
import os

import pytest

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import OptionError
from vggzoo.training.config import TrainConfig

W = 1 / 32
GOOD = ["--model", "vgg11", "--width-mult", str(W), "--scale", "224", "--batch-size", "4",
        "--init", "glorot", "--workers", "0", "--no-progress", "--device", "cpu"]
CPUS = len(os.sched_getaffinity(0))

BAD = [  # (flag, value, words the message must hold)
    ("--epochs", "0", ">= 1"), ("--epochs", "-3", ">= 1"), ("--max-steps", "0", ">= 1"),
    ("--lr", "nan", "> 0"), ("--lr", "inf", "> 0"), ("--lr", "-0.01", "> 0"),
    ("--head-lr", "-1", ">= 0"), ("--head-lr", "nan", ">= 0"),
    ("--init-std", "nan", "> 0"), ("--init-std", "-0.01", "> 0"), ("--init-std", "inf", "> 0"),
    ("--scale", "0", "S >= the crop"), ("--crop", "300", "[1, 224]"),
    ("--patience", "-1", ">= 0"), ("--checkpoint-every", "-2", ">= 0"),
    ("--width-mult", "0.015625", "1 channel"), ("--workers", "-1", ">= 0"),
    ("--workers", str(CPUS + 1), f"<= {CPUS}"),
]


@pytest.mark.parametrize(("flag", "value", "words"), BAD, ids=[f"{f}={v}" for f, v, _ in BAD])
def test_cli_refuses_each_bad_option_in_one_line_before_work(image_folder, tmp_path, capsys,
                                                            flag, value, words):
    out = tmp_path / "run"
    # The bad value comes last: argparse keeps the last of a repeated flag.
    assert main(["train", "--data", str(image_folder), "--out", str(out), "--epochs", "1",
                 *GOOD, flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("vggzoo train: error: ") and flag in err and words in err, err
    assert not out.exists()  # nothing was built or written


@pytest.mark.parametrize("options", [
    dict(epochs=0), dict(max_steps=-1), dict(lr=math.nan), dict(head_lr=-1.0),
    dict(init_std=math.inf), dict(scale="0"), dict(crop=240), dict(patience=-1),
    dict(checkpoint_every=-1), dict(width_mult=0.01), dict(workers=CPUS + 1),
    dict(dropout=1.0), dict(momentum=-0.5), dict(epochs=1.5)], ids=str)
def test_api_refuses_the_same_options_before_work(image_folder, tmp_path, options):
    out = tmp_path / "run"
    base = dict(width_mult=W, scale="224", batch_size=4, init="glorot", workers=0,
                progress=False, device="cpu", epochs=1)
    with pytest.raises(OptionError, match="is not allowed"):
        vggzoo.train("vgg11", image_folder, out, **{**base, **options})
    assert not out.exists()


def test_the_default_workers_fit_the_machine_and_the_narrowest_width_trains():
    assert 0 <= TrainConfig().workers <= CPUS
    assert TrainConfig(width_mult=W).width_mult == W  # 2 channels in conv1: allowed


# 256 crops of 224x224 float32, four batches ahead: 616 MB in each worker's
# prefetch queue alone, more than this limit holds.
BIG_BATCH, LOW_LIMIT = "256", "512MiB"


def test_more_workers_than_memory_holds_is_one_line_naming_the_range(image_folder, tmp_path,
                                                                       capsys, monkeypatch):
    monkeypatch.setenv("VGGZOO_MEMORY_LIMIT", LOW_LIMIT)
    out = tmp_path / "run"
    assert main(["train", "--data", str(image_folder), "--out", str(out), "--epochs", "1",
                 *GOOD, "--batch-size", BIG_BATCH, "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "--workers" in err and "from 0 to 0" in err and "VGGZOO_MEMORY_LIMIT" in err, err
    assert "may use 0.5 GiB" in err, err  # the limit, next to the estimate
    assert not out.exists()


def test_the_api_refuses_workers_memory_cannot_hold_and_the_default_fits(image_folder,
                                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("VGGZOO_MEMORY_LIMIT", LOW_LIMIT)
    with pytest.raises(OptionError, match="workers=1 .* from 0 to 0"):
        vggzoo.train("vgg11", image_folder, tmp_path / "run", width_mult=W, scale="224",
                     batch_size=int(BIG_BATCH), workers=1, progress=False, device="cpu")
    assert not (tmp_path / "run").exists()
    assert TrainConfig(batch_size=int(BIG_BATCH)).workers == 0  # the default: what fits
    monkeypatch.delenv("VGGZOO_MEMORY_LIMIT")
    assert TrainConfig(batch_size=4, crop=224, scale="224", workers=1).workers == 1
