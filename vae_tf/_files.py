"""Files that appear whole or not at all, and the JSON files of runs and results."""

import contextlib
import json
import os


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`, renamed onto `path` if the block succeeds.

    A crash or an error leaves any earlier file at `path` untouched and no
    partial file behind.

    Example:

    >>> with atomic_path("results.csv") as partial:
    ...     write_csv(partial)
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    root, extension = os.path.splitext(path)
    partial = f"{root}.partial{extension}"
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write_json(values, path):
    """Writes `values` as JSON at `path`, complete or not at all (temp file + rename)."""
    with atomic_path(path) as partial:
        with open(partial, "w") as f:
            json.dump(values, f, indent=2)
            f.write("\n")
    return path


def read_json(path):
    """The JSON value in the file at `path`."""
    with open(path) as f:
        return json.load(f)
