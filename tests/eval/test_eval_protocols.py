"""The protocols on real photos with a narrow network: the paper's identities."""

import numpy as np
import pytest
import torch
from eval_helpers import as_tensor, photo

from vggzoo.eval import grid_boxes, multi_crops, protocol_posteriors
from vggzoo.eval.posteriors import resolve_protocols


def run(network, images, protocols, scales, **kwargs):
    network.scales = scales
    return protocol_posteriors([network], images, resolve_protocols(protocols), **kwargs)


def test_dense_at_224_on_a_224_image_without_flip_equals_single(network):
    image = as_tensor(photo("chelsea", 224, 224))
    out = run(network, [image], ["dense", "single"], [224], flip=False)
    torch.testing.assert_close(out["dense"], out["single"], rtol=0, atol=1e-6)
    assert out["dense"].shape == (1, 3)
    torch.testing.assert_close(out["dense"].sum(), torch.tensor(1.0))


def symmetric(height: int, width: int) -> np.ndarray:
    left = photo("coffee", height, width // 2)
    return np.ascontiguousarray(np.concatenate([left, left[:, ::-1]], axis=1))


@pytest.mark.parametrize("protocol", ["dense", "multicrop"])
def test_flip_averaging_leaves_a_mirror_symmetric_image_unchanged(network, protocol):
    image = as_tensor(symmetric(256, 320))
    assert torch.equal(image, image.flip(-1))
    flipped = run(network, [image], [protocol], [256], flip=True)[protocol]
    plain = run(network, [image], [protocol], [256], flip=False)[protocol]
    torch.testing.assert_close(flipped, plain, rtol=0, atol=1e-6)


@pytest.mark.parametrize("protocol", ["dense", "multicrop"])
def test_flip_averaging_changes_an_asymmetric_image(network, protocol):
    image = as_tensor(photo("chelsea", 256, 320))
    flipped = run(network, [image], [protocol], [256], flip=True)[protocol]
    plain = run(network, [image], [protocol], [256], flip=False)[protocol]
    assert not torch.allclose(flipped, plain, rtol=0, atol=1e-6)


def test_multicrop_grid_has_25_distinct_boxes_inside_covering_the_corners():
    height, width = 256, 341  # a 3:4 photo rescaled to Q = 256
    boxes = grid_boxes(height, width)
    assert len(set(boxes)) == 25
    for top, left, h, w in boxes:
        assert (h, w) == (224, 224)
        assert 0 <= top and top + h <= height and 0 <= left and left + w <= width
    corners = {(0, 0), (0, width - 224), (height - 224, 0), (height - 224, width - 224)}
    assert corners <= {(b.top, b.left) for b in boxes}
    assert len({b.top for b in boxes}) == 5 and len({b.left for b in boxes}) == 5


def test_multi_crops_are_50_with_flips_and_exact_image_regions():
    image = as_tensor(photo("astronaut", 300, 260))
    crops = multi_crops(image)
    assert crops.shape == (50, 3, 224, 224)
    assert torch.equal(crops[25:], crops[:25].flip(-1))
    top, left, _, _ = grid_boxes(300, 260)[7]
    assert torch.equal(crops[7], image[:, top:top + 224, left:left + 224])
    assert multi_crops(image, flip=False).shape[0] == 25


def test_multi_scale_averages_the_posteriors_of_each_scale(network):
    images = [as_tensor(photo("chelsea", 240, 300)), as_tensor(photo("coffee", 260, 260))]
    both = run(network, images, ["dense"], [224, 288])["dense"]
    each = [run(network, images, ["dense"], [q])["dense"] for q in (224, 288)]
    torch.testing.assert_close(both, (each[0] + each[1]) / 2, rtol=0, atol=1e-6)
    assert not torch.allclose(each[0], each[1], rtol=0, atol=1e-6)


def test_fusing_a_model_with_itself_equals_the_model_alone(network):
    images = [as_tensor(photo("chelsea", 240, 300)), as_tensor(photo("astronaut", 230, 230))]
    network.scales = [224, 256]
    protocols = resolve_protocols(["dense"])
    alone = protocol_posteriors([network], images, protocols)["dense"]
    fused = protocol_posteriors([network, network], images, protocols)["dense"]
    torch.testing.assert_close(fused, alone, rtol=0, atol=1e-6)


def test_dense_plus_multicrop_is_the_weighted_average_of_both(network):
    images = [as_tensor(photo("coffee", 250, 300))]
    parts = run(network, images, ["dense", "multicrop"], [256])
    equal = run(network, images, ["dense+multicrop"], [256])["dense+multicrop"]
    torch.testing.assert_close(equal, (parts["dense"] + parts["multicrop"]) / 2, rtol=0, atol=1e-6)
    network.scales = [256]
    weighted = protocol_posteriors([network], images, resolve_protocols(["dense+multicrop"], [3, 1]))
    torch.testing.assert_close(weighted["dense+multicrop"],
                               0.75 * parts["dense"] + 0.25 * parts["multicrop"], rtol=0, atol=1e-6)


def test_batch_size_and_mixed_image_sizes_do_not_change_posteriors(network):
    images = [as_tensor(photo("chelsea", 240, 300)), as_tensor(photo("coffee", 230, 230)),
              as_tensor(photo("astronaut", 240, 300))]
    one = run(network, images, ["dense"], [224, 256], batch_size=1)
    many = run(network, images, ["dense"], [224, 256], batch_size=5)
    for name in one:
        torch.testing.assert_close(one[name], many[name], rtol=1e-5, atol=1e-6)
