"""Files that appear whole or not at all, and what to say when one is damaged or the disk full.

- `atomic_path`, `write_json`: a file appears complete or not at all.
- `read_json`, `check_keras_archive`: read or check a file, raising
  `DamagedFileError` (the file, what is wrong, the fix) when it is damaged.
- `DiskFullError`, `is_disk_full`: a write that ran out of space, named by
  the folder that needs it.
- `file_sha256`: a file's digest; `cache_dir`: where vae_tf keeps what it
  computes once (judges, presets' SavedModels).
"""

import contextlib
import errno
import hashlib
import json
import os
import sys
import zipfile


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


# Names the cache's root folder (see `cache_dir`).
CACHE_VARIABLE = "VAE_TF_CACHE"


def cache_dir(*parts):
    """A folder of vae_tf's cache: under `$VAE_TF_CACHE` if set, else `$XDG_CACHE_HOME/vae_tf`,
    else `~/.cache/vae_tf`.

    Example: `cache_dir("judges")` -> `"/home/me/.cache/vae_tf/judges"`.
    """
    root = os.environ.get(CACHE_VARIABLE)
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(cache, "vae_tf")
    return os.path.join(root, *parts)


def folder_name(path):
    """The last part of a folder's path, with or without a trailing slash: `"runs/a/"` -> `"a"`.

    Of a relative path such as `"."`, the name of the folder it stands for.
    """
    return os.path.basename(os.path.abspath(path))


def file_sha256(path):
    """The SHA-256 of the file at `path`, in hexadecimal (read in 1 MB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def first_line(error):
    """The first line of an error's message (TensorFlow's run on for pages)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class DamagedFileError(ValueError):
    """A file that exists but cannot be read: truncated, garbage or incomplete.

    The message names the file, what is wrong with it and what to do:

    >>> str(DamagedFileError("run/config.json", "empty", "train the run again"))
    'run/config.json is damaged (empty): train the run again.'
    """

    def __init__(self, path, problem, fix):
        super().__init__(f"{path} is damaged ({problem}): {fix}.")
        self.path = os.fspath(path)
        self.problem = problem


class DiskFullError(OSError):
    """A write ran out of disk space; the message names the folder that needs more.

    Example: `DiskFullError("runs/x.partial", "the last whole checkpoint is ...")`.
    """

    def __init__(self, folder, detail=""):
        folder = os.fspath(folder)
        message = f"No space left on the disk of {folder}: free some space there"
        super().__init__(errno.ENOSPC, f"{message}{'; ' + detail if detail else ''}.")
        self.folder = folder

    def __str__(self):
        return self.strerror


def is_disk_full(error):
    """Whether `error` is a write that ran out of space (or quota).

    Python's writers raise an OSError with errno ENOSPC (EDQUOT over a
    quota); TensorFlow's C++ writers raise an OpError whose message says
    "No space left on device".
    """
    if isinstance(error, DiskFullError):
        return True
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error)


@contextlib.contextmanager
def quiet_h5py_cleanup():
    """Keeps the "Exception ignored" tracebacks of h5py objects freed after a failed write off stderr.

    When a write fails (a full disk), h5py's objects report their own failed
    cleanup through `sys.unraisablehook`; the error raised says it all.
    """
    previous = sys.unraisablehook

    def hook(unraisable):
        if "h5py" not in repr(unraisable.object) + repr(unraisable.exc_value):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def check_keras_archive(path, fix):
    """Raises `DamagedFileError` unless `path` is a whole `.keras` zip archive.

    Keras itself says "File not found" of a truncated archive, which sends
    the user looking for a file that is there.
    """
    problem = None
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            bad = archive.testzip()
        if bad is not None:
            problem = f"its member {bad} fails its checksum"
        elif "config.json" not in names:
            problem = "not a .keras archive: it has no config.json"
    except zipfile.BadZipFile as error:
        problem = f"not a complete .keras archive: {error}"
    except (OSError, EOFError) as error:
        problem = f"cannot be read: {first_line(error)}"
    if problem is not None:
        raise DamagedFileError(path, problem, fix)


def read_json(path, fix="write it again"):
    """The JSON value in the file at `path`.

    Raises:
        DamagedFileError: for an empty file or one that is not JSON, with `fix`.
    """
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as error:
        problem = "empty" if not text.strip() else f"not valid JSON: {error}"
        raise DamagedFileError(path, problem, fix) from None
