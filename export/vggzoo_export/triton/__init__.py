"""Triton Inference Server model repositories (:mod:`.repository`)."""
