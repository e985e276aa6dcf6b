"""vggzoo plugin adding the LSUV initializer (see ``vggzoo_lsuv.plugin``)."""
