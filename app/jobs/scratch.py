"""Scratch folders of job processes.

Every process that runs jobs owns one folder, ``<root>/<owner id>/``, with an ``owner.json``
marker (host, pid and the pid's start time) whose modification time the heartbeat refreshes.
The process points :mod:`tempfile` at it, so everything its jobs write to temporary files
(transcode work folders, downloads) lives there.

Clean-up removes a folder only when its owner is provably gone: this process's own folder at a
clean exit; another owner's when its marker has not been refreshed for twice the lease, on this
host its pid is gone or is another process now, *and* it holds no unexpired job lease. Nothing is ever removed by the look of its name, and nothing outside ``<root>`` is touched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.config import get_settings

logger = logging.getLogger("clipshop.jobs.scratch")

MARKER = "owner.json"
# Computed before this module ever changes tempfile.tempdir.
_SYSTEM_TMP = Path(tempfile.gettempdir())
_claimed: Path | None = None


def scratch_root() -> Path:
    return get_settings().job_scratch_dir or _SYSTEM_TMP / "clipshop-scratch"


def _folder_name(owner: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in owner)


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live pid from a reused one); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        return stat.rsplit(")", 1)[1].split()[19]
    try:  # no /proc: existence only
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "?"


def claim(owner: str) -> Path:
    """Create this process's folder and send its temporary files there."""
    global _claimed
    root = scratch_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / _folder_name(owner)
    folder.mkdir(exist_ok=True)
    pid = os.getpid()
    marker = {"owner": owner, "host": socket.gethostname(), "pid": pid, "pid_start": _process_start(pid)}
    (folder / MARKER).write_text(json.dumps(marker))
    tempfile.tempdir = str(folder)
    _claimed = folder
    return folder


def touch() -> None:
    """Heartbeat of this process's folder (read by other hosts sharing the root)."""
    if _claimed is not None:
        try:
            os.utime(_claimed / MARKER)
        except OSError:
            logger.warning("scratch folder marker is gone", extra={"folder": str(_claimed)})


def release() -> None:
    """Clean exit: remove this process's folder."""
    global _claimed
    folder, _claimed = _claimed, None
    if folder is not None:
        if tempfile.tempdir == str(folder):
            tempfile.tempdir = None
        shutil.rmtree(folder, ignore_errors=True)


def _owner_dead(marker: dict[str, object], marker_path: Path) -> bool:
    # Silent for twice the lease (its heartbeat refreshes the marker) ...
    if time.time() - marker_path.stat().st_mtime <= 2 * get_settings().job_lease_seconds:
        return False
    if marker.get("host") != socket.gethostname():
        return True
    # ... and, on this host, its pid is gone or is another process now.
    pid = marker.get("pid")
    if not isinstance(pid, int):
        return False
    now = _process_start(pid)
    return now is None or (now != "?" and now != marker.get("pid_start"))


def purge_dead(root: Path | None = None, live_lease_owners: Callable[[], set[str]] | None = None) -> int:
    """Remove the folders of job processes that are gone; returns how many were removed."""
    root = root or scratch_root()
    if not root.is_dir():
        return 0
    candidates: list[tuple[Path, str]] = []
    for folder in root.iterdir():
        marker_path = folder / MARKER
        if folder == _claimed or not folder.is_dir() or folder.is_symlink() or not marker_path.is_file():
            continue
        try:
            marker = json.loads(marker_path.read_text())
            owner = str(marker["owner"])
            if folder.name != _folder_name(owner) or not _owner_dead(marker, marker_path):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a folder this code wrote: not ours to judge
        candidates.append((folder, owner))
    if not candidates:
        return 0
    leased = live_lease_owners() if live_lease_owners is not None else set()
    removed = 0
    for folder, owner in candidates:
        if owner in leased:
            continue  # its lease has not expired yet: the reaper decides first
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
        logger.info("removed the scratch folder of a dead job process", extra={"folder": str(folder)})
    return removed
