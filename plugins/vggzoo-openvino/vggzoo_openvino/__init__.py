"""vggzoo plugin adding the OpenVINO runner (see ``vggzoo_openvino.runner``)."""
