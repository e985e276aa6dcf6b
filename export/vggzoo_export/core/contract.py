"""The export contract: what every file vggzoo-export writes promises.

Exporters write these names and keys, runtimes (ONNX Runtime, TensorRT,
OpenVINO, Triton configs, the protocol graph) read them.  They live here,
apart from any exporter, so a reader imports the contract without pulling
in torch, onnx or another exporter (this module imports nothing heavy).

Tensor names of the fully-convolutional network (``vggzoo-export MODEL``):

- :data:`INPUT_NAME` (N, 3, H, W) float32, preprocessed;
- :data:`SCORE_MAP_NAME` (N, K, h, w), the paper's class score map;
- :data:`LOGITS_NAME` (N, K), its spatial mean.

The whole-protocol graph (``--protocol dense``) takes :data:`IMAGE_NAME`
(N, 3, H, W) uint8 RGB and returns :data:`POSTERIORS_NAME` (N, K).

Metadata: every artifact stores string key/value pairs under
:data:`METADATA_PREFIX` (see :class:`vggzoo_export.core.metadata.ExportMetadata`
for the common ones); the keys below are the ones single exporters add.
"""

from __future__ import annotations

from pathlib import Path

# -- tensor names ----------------------------------------------------------
INPUT_NAME = "input"
SCORE_MAP_NAME = "score_map"
LOGITS_NAME = "logits"
#: Output order of the network graph.
OUTPUT_NAMES: tuple[str, str] = (SCORE_MAP_NAME, LOGITS_NAME)
#: Input and output of the whole-protocol graph.
IMAGE_NAME = "image"
POSTERIORS_NAME = "posteriors"

# -- limits ----------------------------------------------------------------
#: ONNX opset of the network graph unless ``--opset`` says otherwise.
DEFAULT_OPSET = 18
#: Largest protobuf message, in bytes, that can be serialised: protobuf
#: sizes messages with a signed 32-bit int and refuses anything above
#: ``INT_MAX`` (2 GiB - 1).  An ONNX file whose graph is larger must keep its
#: weights in an external ``.data`` file.
PROTOBUF_LIMIT = 2**31 - 1
#: Weights above this many bytes go to the ``.data`` file: the limit less
#: headroom for the graph's nodes and the metadata.
EXTERNAL_DATA_THRESHOLD = PROTOBUF_LIMIT - 64 * 1024**2
#: The paper's test scales Q for jittered training S in [256; 512]
#: (Q = {S_min, (S_min + S_max) / 2, S_max}): the default of the protocol
#: graph and of TensorRT's optimisation profiles.
DEFAULT_TEST_SCALES: tuple[int, ...] = (256, 384, 512)
#: Largest batch a TensorRT engine or Triton model takes unless told.
DEFAULT_MAX_BATCH = 32

# -- metadata keys ---------------------------------------------------------
METADATA_PREFIX = "vggzoo."
#: The registered model name (``vgg16``).
MODEL_KEY = METADATA_PREFIX + "model"
#: Key of the model's facts record (JSON of :meth:`PretrainedCfg.as_dict`).
FACTS_KEY = METADATA_PREFIX + "facts"
#: JSON of the export settings (config, width, precision, batch, ...).
CONFIG_KEY = METADATA_PREFIX + "config"
#: JSON list of class names in label order, or ``null``.
CLASSES_KEY = METADATA_PREFIX + "classes"
#: ``"protocol"`` on a whole-protocol graph; absent on network graphs.
GRAPH_KEY = METADATA_PREFIX + "graph"
PROTOCOL_GRAPH = "protocol"
#: JSON of the protocol a protocol graph runs (name, scales, flip).
PROTOCOL_KEY = METADATA_PREFIX + "protocol"
#: JSON of one compiled entry of an AOTInductor package.
AOTI_ENTRY_KEY = METADATA_PREFIX + "aoti_entry"
#: JSON of an int8 file's calibration (images, hash, scales, method).
CALIBRATION_KEY = METADATA_PREFIX + "calibration"
#: JSON of an :class:`vggzoo_export.core.parity.AgreementReport` against fp32.
AGREEMENT_KEY = METADATA_PREFIX + "agreement"
#: Compute precision written into an ONNX graph for strongly typed TensorRT
#: (unprefixed, as TensorRT tooling reads it).
PRECISION_KEY = "precision"


def data_file_name(path: Path) -> str:
    """Name of the external-data companion of an ONNX file (``m.onnx.data``)."""
    return Path(path).name + ".data"
