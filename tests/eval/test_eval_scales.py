"""Test scales derived from the training scale, as the paper does."""

import pytest

from vggzoo.data.scales import choose_test_scales
from vggzoo.eval.scales import ScaleError, TrainScale, parse_scales, resolve_scales
from vggzoo.weights.files import read_metadata


def test_fixed_and_jittered_training_scales_give_the_papers_test_scales():
    assert TrainScale.parse("256").test_scales(multi_scale=True) == [224, 256, 288]
    assert TrainScale.parse("384").test_scales(multi_scale=False) == [384]
    jittered = TrainScale.parse("256:512")
    assert jittered.test_scales(multi_scale=True) == [256, 384, 512]
    assert jittered.test_scales(multi_scale=False) == [384]
    assert TrainScale.parse("[256;512]") == jittered and str(jittered) == "[256;512]"


def test_explicit_scales_win_and_missing_ones_are_a_clear_error():
    assert resolve_scales("256,384", "256", multi_scale=True) == [256, 384]
    assert resolve_scales(None, "256:512", multi_scale=True) == [256, 384, 512]
    # no training scale recorded: the paper's S = 256, and the choice says so
    chosen = choose_test_scales(None, None, multi_scale=True, min_scale=224)
    assert chosen.scales == [224, 256, 288] and "assumed S=256" in chosen.note
    with pytest.raises(ScaleError, match="comma-separated"):
        parse_scales("256;x")
    with pytest.raises(ScaleError, match="Smin:Smax"):
        TrainScale.parse("big")


def test_training_scale_is_read_from_safetensors_metadata(checkpoint):
    assert read_metadata(checkpoint)["train_scale"] == "256"
    assert read_metadata(checkpoint.with_suffix(".pth")) == {}
