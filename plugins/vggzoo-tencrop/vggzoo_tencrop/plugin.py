"""The 10-crop protocol, written against vggzoo's protocol interface."""

from __future__ import annotations

import vggzoo
from vggzoo.eval.protocols import EvalProtocol, averaged_posteriors, check_scale


class TenCrop(EvalProtocol):
    """Four corner crops and the centre crop, each also flipped (AlexNet).

    torchvision's ``ten_crop``/``five_crop`` cut the crops, so the boxes are
    the ones torchvision users know.
    """

    name = "tencrop"
    description = "4 corner + centre 224x224 crops of the image rescaled to Q, times 2 flips"

    def posteriors(self, runner, images, *, flip, batch_size, meter=None):
        from torchvision.transforms.v2 import functional as F  # not at registration: it is slow

        size = [runner.min_input_size] * 2
        check_scale(images, runner.min_input_size, "10-crop evaluation")
        cut = F.ten_crop if flip else F.five_crop
        inputs = ((i, crop) for i, image in enumerate(images) for crop in cut(image, size))
        return averaged_posteriors(runner, inputs, len(images), batch_size=batch_size,
                                   protocol=self.name, meter=meter)


@vggzoo.hookimpl
def vggzoo_register_eval_protocols(register) -> None:
    protocol = TenCrop()
    register(protocol.name, protocol, description=protocol.description)
