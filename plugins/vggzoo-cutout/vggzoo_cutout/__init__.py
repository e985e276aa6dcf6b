"""vggzoo plugin adding the Cutout augmentation (see ``vggzoo_cutout.plugin``)."""
