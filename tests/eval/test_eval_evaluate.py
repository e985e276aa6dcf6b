"""vggzoo.evaluate end to end on an ImageFolder of real photos, and bad input."""

import pytest
import torch
from eval_helpers import CLASSES, save_checkpoint, tiny_model

import vggzoo
from vggzoo.models.complexity import count_macs
from vggzoo.errors import InputSizeError, UnknownNameError, VggzooError, WeightsError
from vggzoo.eval import find_images, protocol_posteriors
from vggzoo.eval.data import read_image
from vggzoo.eval.network import load_network
from vggzoo.eval.posteriors import resolve_protocols
from vggzoo.eval.metrics import correct_at_k


def test_errors_equal_topk_of_the_posteriors_and_scales_come_from_metadata(
        image_folder, checkpoint):
    result = vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="dense",
                             multi_scale=True, batch_size=4)
    assert result.scales == [[224, 256, 288]] and result.train_scales == ["256"]
    assert result.models == ["vgg11"] and result.configs == ["A"] and result.images == 5
    images = find_images(image_folder)
    network = load_network(None, checkpoint)
    network.scales = [224, 256, 288]
    probs = protocol_posteriors([network], [read_image(i.path) for i in images.items],
                    resolve_protocols(["dense"]))["dense"]
    correct = correct_at_k(probs, torch.tensor([i.label for i in images.items]), (1, 5))
    assert result.top1_err == pytest.approx(100 * (1 - correct[1] / 5))
    assert result.top5_err == 0.0  # 3 classes: every label is within the top 5


def test_flops_per_image_count_every_network_input(image_folder, checkpoint):
    net = tiny_model()
    at_224 = count_macs(vggzoo.to_fully_conv(net), (3, 224, 224))
    single = vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="single",
                             scales=[256])
    assert single.macs_per_image == at_224
    crops = vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="multicrop",
                            scales=[224, 256], flip=False)
    assert crops.macs_per_image == 2 * 25 * at_224
    assert crops.gflops_per_image == pytest.approx(2 * crops.macs_per_image / 1e9)
    assert crops.seconds_per_image > 0


def test_an_unreadable_image_is_skipped_and_reported(image_folder, checkpoint):
    bad = image_folder / "val" / "cup" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    result = vggzoo.evaluate(data=image_folder, weights=checkpoint, scales=[224])
    assert result.images == 5
    assert [s.path for s in result.skipped] == [str(bad)]
    assert "UnidentifiedImageError" in result.skipped[0].reason


def test_unknown_protocol_suggests_close_matches(image_folder, checkpoint):
    with pytest.raises(UnknownNameError, match="unknown evaluation protocol 'dens'.*dense"):
        vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="dens", scales=[224])


def test_dense_scale_below_224_is_a_clear_error(image_folder, checkpoint):
    with pytest.raises(InputSizeError, match="dense evaluation needs test scale Q >= 224"):
        vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="dense", scales=[192])


def test_checkpoint_of_another_config_is_a_clear_error(image_folder, tmp_path):
    plain = tmp_path / "vgg13.pth"
    torch.save(tiny_model("vgg13").state_dict(), plain)
    with pytest.raises(WeightsError, match="do not fit this model"):
        vggzoo.evaluate("vgg11", plain, image_folder, width_mult=1 / 16, num_classes=CLASSES,
                        scales=[224])
    tagged = save_checkpoint(tiny_model("vgg13"), tmp_path / "vgg13.safetensors")
    with pytest.raises(WeightsError, match="holds model=vgg13 but model=vgg11"):
        vggzoo.evaluate("vgg11", tagged, image_folder, scales=[224])


def test_more_class_folders_than_model_classes_is_a_clear_error(image_folder, tmp_path):
    small = vggzoo.create("vgg11", num_classes=2, width_mult=1 / 16)
    path = vggzoo.save_weights(small, tmp_path / "two.safetensors", metadata={"model": "vgg11"})
    with pytest.raises(VggzooError, match="3 class folders but vgg11 predicts 2 classes"):
        vggzoo.evaluate(data=image_folder, weights=path, width_mult=1 / 16, num_classes=2,
                        scales=[224])


def test_fusing_a_checkpoint_with_itself_gives_the_same_errors(image_folder, checkpoint):
    alone = vggzoo.evaluate(data=image_folder, weights=checkpoint, scales=[224])
    fused = vggzoo.evaluate(data=image_folder, weights=checkpoint, fuse=[checkpoint],
                            scales=[224])
    assert (fused.top1_err, fused.top5_err, fused.images) == (alone.top1_err, alone.top5_err, 5)
    assert fused.models == ["vgg11", "vgg11"] and fused.macs_per_image == 2 * alone.macs_per_image
