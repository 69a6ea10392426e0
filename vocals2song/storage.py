"""Small-file access for local paths and ``gs://`` alike, through fsspec (gcsfs for gs://).

Large data never goes through here: shards are written by the Beam job and read by
tf.data; this module lists folders and reads and writes manifests and dead letters.
"""

from __future__ import annotations

import posixpath

import fsspec


def is_remote(path: str) -> bool:
    return "://" in path


def join(base: str, *parts: str) -> str:
    """Joins path parts with "/" for URLs, with the OS rule for local paths."""
    if is_remote(base):
        return posixpath.join(base, *parts)
    import os

    return os.path.join(base, *parts)


def filesystem(path: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec file system for ``path`` and the path as that file system names it."""
    fs, _, (resolved,) = fsspec.get_fs_token_paths(path)
    return fs, resolved


def exists(path: str) -> bool:
    fs, resolved = filesystem(path)
    return fs.exists(resolved)


def read_text(path: str) -> str:
    with fsspec.open(path, "r", encoding="utf-8") as handle:
        return handle.read()


def ensure_parent(path: str) -> None:
    """Creates the folder a file will be written into (object stores need none)."""
    if not is_remote(path):
        import os

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def write_text(path: str, text: str) -> None:
    """Writes ``text``; on local disks through a temporary name and a rename, so a reader
    never sees half a file (an object store's upload is atomic by itself)."""
    fs, resolved = filesystem(path)
    target = resolved if is_remote(path) else resolved + ".incomplete"
    ensure_parent(path)
    with fs.open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    if target != resolved:
        fs.mv(target, resolved)


def remove(path: str) -> None:
    """Deletes a file or a folder tree if it exists."""
    fs, resolved = filesystem(path)
    if fs.exists(resolved):
        fs.rm(resolved, recursive=True)


def remove_matching(folder: str, pattern: str) -> None:
    """Deletes the files (and folders) in ``folder`` whose names match the glob ``pattern``;
    nothing else."""
    fs, resolved = filesystem(folder)
    if fs.isdir(resolved):
        for name in fs.glob(posixpath.join(resolved, pattern)):
            fs.rm(name, recursive=fs.isdir(name))


def free_bytes(path: str) -> int | None:
    """Free space at a local path (or its nearest existing parent); None for object stores."""
    if is_remote(path):
        return None
    import os
    import shutil

    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    return shutil.disk_usage(probe).free
