"""Atomic writes: a file appears under its final name whole or not at all (training's history,
extraction's assets, the pipeline's stamps and gallery all write through these)."""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np


def atomic_write_bytes(path: Path, data: bytes) -> str:
    """Write `data` to `path` atomically (a per-process temporary name, then a rename); return
    its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return hashlib.sha256(data).hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    return atomic_write_bytes(path, npz_bytes(arrays))


def write_json(path: Path, obj) -> str:
    return atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())
