"""The paper's training augmentations and mean-RGB subtraction."""

import pytest
import torch
from torchvision import tv_tensors

from vggzoo.data.transforms import (IMAGENET_PCA, PAPER_AUGMENTATIONS, PCALighting, PCAStats,
                                    isotropic_rescale, train_transform, val_transform)
from vggzoo.errors import ConfigError
from vggzoo.data.preprocess import PAPER
from vggzoo.plugins.registry import AUGMENTATIONS
from vggzoo.data.scales import TrainScale


def test_paper_augmentations_are_registered_through_the_hook():
    assert set(PAPER_AUGMENTATIONS) <= set(AUGMENTATIONS.names())
    assert AUGMENTATIONS.get("pca-lighting").source == "vggzoo.data.transforms"


def test_pca_lighting_adds_eigvec_times_scaled_eigval_to_every_pixel():
    pca = PCAStats(eigval=(0.2, 0.05, 0.01),
                   eigvec=((0.6, 0.8, 0.0), (-0.8, 0.6, 0.0), (0.0, 0.0, 1.0)))
    image = tv_tensors.Image(torch.rand(3, 5, 7))
    torch.manual_seed(3)
    out = PCALighting(pca)(image)
    torch.manual_seed(3)
    alpha = torch.randn(3) * 0.1
    expected = torch.tensor(pca.eigvec) @ (alpha * torch.tensor(pca.eigval))
    offset = out - image
    assert isinstance(out, tv_tensors.Image)
    assert torch.allclose(offset, expected.view(3, 1, 1).expand(3, 5, 7), atol=1e-6)
    assert offset.abs().sum() > 0


def test_pca_lighting_spread_follows_the_eigenvalues():
    pca = PCAStats(eigval=(0.3, 0.03, 0.0), eigvec=((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0)))
    lighting = PCALighting(pca)
    image = torch.zeros(3, 1, 1)
    offsets = torch.stack([lighting(image).flatten() for _ in range(4000)])
    std = offsets.std(dim=0)
    assert std[0] == pytest.approx(0.1 * 0.3, rel=0.08)
    assert std[1] == pytest.approx(0.1 * 0.03, rel=0.08)
    assert std[2] == 0


def test_pca_lighting_converts_uint8_to_unit_range():
    image = tv_tensors.Image(torch.full((3, 2, 2), 255, dtype=torch.uint8))
    out = PCALighting(IMAGENET_PCA, alpha_std=0.0)(image)
    assert out.dtype == torch.float32 and torch.equal(out, torch.ones(3, 2, 2))


def test_jittered_scale_stays_in_range_and_keeps_aspect_ratio():
    rescale = isotropic_rescale(TrainScale.parse("256:512"))
    image = tv_tensors.Image(torch.zeros(3, 40, 60, dtype=torch.uint8))
    sides = []
    for _ in range(300):
        h, w = rescale(image).shape[-2:]
        assert 256 <= h <= 512 and w == pytest.approx(h * 1.5, abs=1)
        sides.append(h)
    assert min(sides) < 280 and max(sides) > 490  # the whole range is drawn


def test_fixed_scale_sets_the_shortest_side():
    out = isotropic_rescale(TrainScale.parse("256"))(tv_tensors.Image(torch.zeros(3, 60, 40)))
    assert tuple(out.shape[-2:]) == (384, 256)


@pytest.mark.parametrize("text", ["big", "512:256", "1:2:3"])
def test_bad_scale_is_a_clear_error(text):
    with pytest.raises(ConfigError, match="scale"):
        TrainScale.parse(text)


def test_test_scale_is_the_middle_of_the_jitter_range():
    assert TrainScale.parse("256:512").test_scale == 384
    assert TrainScale.parse("384").test_scale == 384


def test_train_transform_crops_and_subtracts_the_mean_rgb():
    from PIL import Image

    mean_255 = [round(m * 255) for m in PAPER.mean]
    photo = Image.new("RGB", (300, 260), tuple(mean_255))
    t = train_transform(["scale", "random-crop", "hflip"], scale=TrainScale.parse("256"),
                        crop=224, pca=IMAGENET_PCA, preprocessing=PAPER)
    x = t(photo)
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    # A mean-coloured image becomes (almost) zero in 0-255 units.
    assert x.abs().max() < 0.5
    white = val_transform(scale=TrainScale.parse("256"), crop=224,
                          preprocessing=PAPER)(Image.new("RGB", (300, 260), (255, 255, 255)))
    assert torch.allclose(white[:, 0, 0], torch.tensor([255 - 123.68, 255 - 116.779, 255 - 103.939]),
                          atol=1e-3)
