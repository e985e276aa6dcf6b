"""vggzoo plugin adding the 10-crop evaluation protocol (see ``vggzoo_tencrop.plugin``)."""
