"""vggzoo plugin bridging timm's VGG models (see ``vggzoo_timm.plugin``)."""
