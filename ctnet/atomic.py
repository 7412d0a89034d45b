"""Atomic file writes: a crash or a kill leaves either the old file or the new one, never half of one.

Torch-free, so that the Snakefile (ctnet.workflow) and the data tools import it without the engine.
"""

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one step, on error it is removed.

    The temporary file keeps `path`'s suffix because some writers (numpy's savez, video encoders chosen by
    suffix) need or append one. It is created with mode 0666 less the umask, as `open` would create `path`
    (tempfile.mkstemp's 0600 would leave tables, scores and weights unreadable to the rest of a lab).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
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
