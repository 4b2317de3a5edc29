"""The ``mltc`` command line (thin: it builds the same objects as the Python API)."""
