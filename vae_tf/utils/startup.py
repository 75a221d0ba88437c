"""Imports TensorFlow without its screen of C++ start-up lines; keeps every other line.

TensorFlow's C++ runtime prints its start-up notices (oneDNN, CUDA stubs,
CPU instructions, and "failed call to cuInit" as an ERROR on machines without
a GPU) straight to file descriptor 2, before absl logging starts:
TF_CPP_MIN_LOG_LEVEL does not hide them (tensorflow/tensorflow#100442), and
its level 3 would hide real errors too. So during the import and the first
device query (where cuInit is called), and only then, descriptor 2 goes to a
temporary file; afterwards every line that is not one of the known notices
is written to stderr as it was, and the notices are kept in `HIDDEN_LINES`
(scripts print them with --verbose).

TF_CPP_MIN_LOG_LEVEL=0 in the environment shows everything, as TensorFlow
prints it.
"""

import os
import sys
import tempfile

# Substrings of the notices, each seen on a CPU-only machine (TF 2.21).
NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "failed call to cuInit",
    "TF-TRT Warning: Could not find TensorRT",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "Attempting to register factory for plugin",
)

HIDDEN_LINES = []


def is_notice(line):
    """Whether `line` is one of TensorFlow's start-up notices."""
    return any(notice in line for notice in NOTICES)


def import_tensorflow():
    """Imports TensorFlow (and queries its devices) with the start-up notices held back."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        import tensorflow  # noqa: F401

        return
    # TensorFlow's C++ runtime writes to descriptor 2 whatever sys.stderr is (pytest,
    # a notebook's kernel, pythonw put a stream of their own there).
    stderr_fd = 2
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(stderr_fd)
        os.dup2(capture.fileno(), stderr_fd)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, stderr_fd)
            os.close(saved)
            capture.seek(0)
            replay(capture.read().decode("utf-8", "replace"))


def replay(text, stream=None):
    """Writes the lines of `text` that are not notices to `stream` (stderr); keeps the rest."""
    stream = stream or sys.stderr
    for line in text.splitlines(keepends=True):
        if is_notice(line):
            HIDDEN_LINES.append(line)
        else:
            stream.write(line)
    stream.flush()
