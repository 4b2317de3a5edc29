"""Fetch official data set archives into the data directory (where a network exists)."""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

#: name -> (official URL, folder under the data directory)
ARCHIVES = {
    "reuters21578": ("https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/reuters21578.tar.gz",
                     "reuters21578"),
}


def download_dataset(name: str, data_dir: str | Path, url: str | None = None, sha256: str | None = None,
                     timeout: float = 60.0, force: bool = False) -> Path:
    """Download and unpack a data set archive into ``data_dir/<folder>``; returns the folder.

    The archive is streamed to a temporary file, optionally checked against ``sha256``,
    unpacked with tarfile's ``data`` filter (no absolute paths, links out of the folder or
    device files) into a temporary folder, and only then renamed into place.
    """
    if name not in ARCHIVES:
        raise ValueError(f"no download known for {name!r}; known: {', '.join(ARCHIVES)}")
    default_url, folder = ARCHIVES[name]
    target = Path(data_dir) / folder
    if target.exists() and any(target.iterdir()) and not force:
        raise FileExistsError(f"{target} exists and is not empty (use force=True / --force to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{folder}.") as tmp:
        archive = Path(tmp) / "archive.tar.gz"
        digest = hashlib.sha256()
        with urllib.request.urlopen(url or default_url, timeout=timeout) as resp, open(archive, "wb") as out:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if sha256 and digest.hexdigest() != sha256.lower():
            raise ValueError(f"checksum mismatch: expected {sha256}, got {digest.hexdigest()}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        # the official archive has its files at the top; accept one wrapping folder too
        entries = list(unpacked.iterdir())
        src = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        if not list(src.glob("reut2-*.sgm")):
            raise ValueError("the archive holds no reut2-*.sgm files")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(src), str(target))
    return target
