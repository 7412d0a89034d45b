"""Atomic file writes: a crash or a kill leaves either the old file or the new one, never half of one.

Torch-free, so that the Snakefile (ctnet.workflow) and the data tools import it without the engine.
"""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one step, on error it is removed.

    The temporary file keeps `path`'s suffix because some writers (numpy's savez, video encoders chosen by
    suffix) need or append one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path, data, indent=2):
    write_text_atomic(path, json.dumps(data, indent=indent) + "\n")
