"""The ``vggzoo-export`` command line: the main command (:mod:`.main`), its
tables (:mod:`.output`) and the TensorRT and Triton flags (:mod:`.trt`,
:mod:`.triton`)."""
