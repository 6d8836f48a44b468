"""Daemons started by devcloud, tracked by pid file only (never found or killed by name).

Each daemon starts in a session of its own, so its process group id is its pid: stopping the
group takes gunicorn workers and Erlang helpers with it. A pid file holds the pid and the
process start time from /proc, so a pid reused after a reboot is never mistaken for ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
START_MARKER = "==== devcloud start"


@dataclass(frozen=True)
class Tracked:
    pid: int
    start_ticks: int
    log_offset: int = 0  # where this start's output begins in its log


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    # fields[0] is field 3 (state); starttime is field 22.
    return int(fields[19]) if fields else None


def start(argv: Sequence[str], *, env: Mapping[str, str], log: Path, pid_file: Path,
          cwd: Path) -> Tracked:
    """Start ``argv`` detached (own session, stdin closed, output appended to ``log``)."""
    with open(log, "ab") as out:
        offset = out.tell()
        out.write(f"\n{START_MARKER} {time.strftime('%F %T')}: {argv[0]}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        )
    ticks = _start_ticks(proc.pid) or 0
    pid_file.write_text(f"{proc.pid} {ticks} {offset}\n")
    return Tracked(proc.pid, ticks, offset)


def read(pid_file: Path) -> Tracked | None:
    try:
        fields = [int(f) for f in pid_file.read_text().split()]
    except (FileNotFoundError, ValueError):
        return None
    if len(fields) not in (2, 3):
        return None
    return Tracked(*fields)


def alive(pid_file: Path) -> Tracked | None:
    """The tracked process if it still runs (same pid *and* start time, not a zombie)."""
    tracked = read(pid_file)
    if tracked is None:
        return None
    fields = _stat_fields(tracked.pid)
    if not fields or fields[0] in ("Z", "X") or int(fields[19]) != tracked.start_ticks:
        return None
    return tracked


def output_since_start(pid_file: Path, log: Path, limit: int = 4 * 1024 * 1024) -> str:
    """What the tracked process wrote to its log since its latest start (first ``limit`` bytes:
    start-up lines come first, however chatty the service is afterwards)."""
    tracked = read(pid_file)
    if tracked is None:
        return ""
    try:
        with open(log, "rb") as handle:
            handle.seek(tracked.log_offset)
            return handle.read(limit).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (the daemon and everything it forked)."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            # fields[2] is field 5 (pgrp)
            if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        total += resident * _PAGE
    return total


def pss_bytes(pids: Iterable[int]) -> int:
    """Proportional set size: shared pages split between their users, so it adds up honestly."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(pid_files: Sequence[Path], *, grace: float) -> list[str]:
    """SIGTERM each tracked group, wait up to ``grace`` seconds, then SIGKILL what is left.

    Returns the names (pid file stems) that had to be killed. Pid files are removed.
    """
    groups: dict[Path, int] = {}
    for pid_file in pid_files:
        tracked = alive(pid_file)
        if tracked is not None:
            groups[pid_file] = tracked.pid
            _signal_group(tracked.pid, signal.SIGTERM)
        else:
            pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        for pid_file, pgid in list(groups.items()):
            if not group_members(pgid):
                pid_file.unlink(missing_ok=True)
                del groups[pid_file]
        time.sleep(0.1)
    killed = []
    for pid_file, pgid in groups.items():
        _signal_group(pgid, signal.SIGKILL)
        killed.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return killed
