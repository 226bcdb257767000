"""Writing report files so that a reader never sees half of one.

CI gates and report viewers may pick files up while a run is still finishing; writing to a
temporary sibling and renaming it into place makes each file appear complete or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line ends) to `path`, replacing it in one step.

    The temporary file is opened normally (not with `mkstemp`) so it gets the usual umask
    permissions: report files are meant to be shared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
