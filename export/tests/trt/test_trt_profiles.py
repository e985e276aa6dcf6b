"""Optimisation profiles from --scales/--max-batch or --min/--opt/--max."""

import argparse
import math

import pytest

from vggzoo.errors import InputSizeError, OptionError
from vggzoo_export.trt.builder import parse_bytes
from vggzoo_export.cli.trt import add_trt_arguments, trt_options
from vggzoo_export.trt.profiles import (Profile, derive_profiles, explicit_profile, plan_profiles,
                                        profile_scales,
                                        parse_shape, select_profile)


def test_each_scale_covers_landscape_and_portrait_images_up_to_the_aspect_limit():
    profiles = derive_profiles([256, 384, 512], max_batch=16, max_aspect=1.5)
    assert len(profiles) == 3
    for q, profile in zip((256, 384, 512), profiles):
        longest = math.ceil(1.5 * q)
        assert profile.min == (1, 3, q, q) and profile.opt == (16, 3, q, q)
        assert profile.contains((16, 3, q, longest))      # landscape
        assert profile.contains((16, 3, longest, q))      # portrait
        assert profile.contains((1, 3, q, q))
        assert not profile.contains((16, 3, q, longest + 1))
        assert not profile.contains((17, 3, q, q))
        assert not profile.contains((1, 3, q - 1, longest))


def test_the_closest_tuned_profile_runs_a_shape_and_big_batches_are_allowed():
    profiles = derive_profiles([256, 384, 512], max_batch=8, max_aspect=2.0)
    assert select_profile(profiles, (8, 3, 256, 341)) == 0
    assert select_profile(profiles, (2, 3, 384, 512)) == 1
    assert select_profile(profiles, (1, 3, 683, 512)) == 2
    # larger batches than a profile takes are split by the runner
    assert select_profile(profiles, (100, 3, 384, 384)) == 1


def test_a_shape_outside_every_profile_says_which_shapes_are_allowed():
    profiles = derive_profiles([256], max_batch=4, max_aspect=1.5)
    with pytest.raises(InputSizeError) as err:
        select_profile(profiles, (1, 3, 256, 1000))
    message = str(err.value)
    assert "1x3x256x1000" in message and "height 256-384, width 256-384" in message
    assert "rebuild" in message and "--scales" in message


def test_explicit_profile_and_shape_errors():
    profile = explicit_profile("1x3x224x224", "8x3x384x384", "16x3x512x640")
    assert profile == Profile((1, 3, 224, 224), (8, 3, 384, 384), (16, 3, 512, 640))
    assert parse_shape("4X3x256x256") == (4, 3, 256, 256)
    with pytest.raises(OptionError, match="NxCxHxW"):
        parse_shape("32x3x384")
    with pytest.raises(OptionError, match="NxCxHxW"):
        parse_shape("axbxcxd")
    with pytest.raises(OptionError, match="grow from min to opt to max"):
        explicit_profile("8x3x224x224", "4x3x224x224", "16x3x224x224")
    with pytest.raises(OptionError, match="channel count"):
        explicit_profile("1x1x224x224", "1x3x224x224", "1x3x224x224")
    with pytest.raises(InputSizeError, match="minimum input 224x224"):
        explicit_profile("1x3x200x224", "1x3x224x224", "1x3x224x224")


def test_scale_and_batch_errors():
    assert profile_scales("512, 256,384,256") == (256, 384, 512)
    with pytest.raises(InputSizeError, match="128 below the network's minimum input of 224"):
        profile_scales("128,256")
    with pytest.raises(OptionError, match="comma-separated integers"):
        profile_scales("256;384")
    with pytest.raises(OptionError, match="--max-batch"):
        derive_profiles([256], max_batch=0)
    with pytest.raises(OptionError, match="--max-aspect"):
        derive_profiles([256], max_aspect=0.5)


def _parse(*argv):
    parser = argparse.ArgumentParser()
    add_trt_arguments(parser)
    return parser.parse_args(list(argv))


def profiles_from_args(args):
    """The profiles the ``tensorrt`` exporter plans from the parsed flags."""
    options = trt_options(args)
    return plan_profiles(**{k: options[k] for k in ("scales", "max_batch", "max_aspect",
                                                     "min_shape", "opt_shape", "max_shape")})


def test_cli_arguments_give_profiles_and_what_to_record_for_a_rebuild():
    profiles, recorded = profiles_from_args(_parse("--trt", "--scales", "384,256",
                                                   "--max-batch", "8"))
    assert [p.opt for p in profiles] == [(8, 3, 256, 256), (8, 3, 384, 384)]
    assert recorded == {"scales": [256, 384], "max_batch": 8, "max_aspect": 2.0}
    profiles, recorded = profiles_from_args(_parse("--min", "1x3x224x224", "--opt",
                                                   "4x3x256x256", "--max", "8x3x512x512"))
    assert profiles == [Profile((1, 3, 224, 224), (4, 3, 256, 256), (8, 3, 512, 512))]
    assert recorded == {}
    default, _ = profiles_from_args(_parse("--trt"))  # no training scale: S = 256's
    assert [p.min[2] for p in default] == [224, 256, 288]


def test_cli_argument_combinations_that_cannot_work_are_refused():
    with pytest.raises(OptionError, match="--min, --opt and --max together"):
        profiles_from_args(_parse("--max", "8x3x512x512"))
    with pytest.raises(OptionError, match="give one or the other"):
        profiles_from_args(_parse("--scales", "256", "--min", "1x3x224x224", "--opt",
                                  "1x3x224x224", "--max", "1x3x224x224"))
    with pytest.raises(SystemExit):
        _parse("--precision", "int8")


def test_workspace_sizes():
    assert parse_bytes("4GiB") == 4 << 30
    assert parse_bytes("512 MiB") == 512 << 20
    assert parse_bytes("2GB") == 2_000_000_000
    assert parse_bytes("1000") == 1000
    with pytest.raises(OptionError, match="4GiB"):
        parse_bytes("four gigs")
    with pytest.raises(OptionError, match="positive"):
        parse_bytes("0")


def test_onnxruntime_tensorrt_provider_gets_all_three_profile_shapes_and_caches(tmp_path):
    from vggzoo_export.trt.ort_provider import tensorrt_provider_options

    profiles = derive_profiles([256, 384, 512], max_batch=8, max_aspect=1.5)
    options = tensorrt_provider_options("image", profiles, cache_dir=tmp_path, precision="fp16",
                                        workspace=parse_bytes("2GiB"))
    assert options["trt_profile_min_shapes"] == "image:1x3x256x256"
    assert options["trt_profile_opt_shapes"] == "image:8x3x384x384"
    assert options["trt_profile_max_shapes"] == "image:8x3x768x768"
    assert options["trt_engine_cache_enable"] == "1" and options["trt_timing_cache_enable"] == "1"
    assert options["trt_engine_cache_path"].startswith(str(tmp_path))
    assert options["trt_max_workspace_size"] == str(2 << 30)
    assert "trt_fp16_enable" not in options   # the precision is in the fp16 ONNX graph
    with pytest.raises(OptionError):
        tensorrt_provider_options("image", profiles, cache_dir=tmp_path, precision="int4")
