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


def move_files(source: Path, target: Path) -> int:
    """Move every file directly inside `source` into `target` (created), keeping names; returns how many.

    Parallel workers write their Allure results into private folders; the parent gathers them into
    the run's folder this way. A name that already exists in `target` is kept apart, not overwritten.
    """
    source, target = Path(source), Path(target)
    if not source.is_dir():
        return 0
    target.mkdir(parents=True, exist_ok=True)
    moved = 0
    for path in sorted(source.iterdir()):
        if not path.is_file():
            continue
        destination = target / path.name
        if destination.exists():
            destination = target / f"{source.name}-{path.name}"
        if path.stat().st_dev == target.stat().st_dev:
            os.replace(path, destination)
        else:  # another file system (the private temporary folder may be on tmpfs)
            destination.write_bytes(path.read_bytes())
            path.unlink()
        moved += 1
    return moved
