# The fixtures vggzoo ships for plugin authors (vggzoo.pytest_plugin). When
# vggzoo is installed, pytest already loaded them through the pytest11 entry
# point of the same name, and this line is a no-op.
pytest_plugins = ["vggzoo.pytest_plugin"]
