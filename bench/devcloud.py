#!/usr/bin/env python3
"""devcloud bring-up times and memory, on this machine's cores.

Prints one JSON object:
  cold_s      `up` from nothing: empty state folder and empty uv cache (downloads from PyPI,
              installs the service venv, creates databases, registers everything)
  warm_s      `up` after `down`: venv, databases and registrations reused (processes start)
  cached_s    `up` after deleting everything but uv's cache (fresh venv from the cache)
  noop_s      `up` on a running devcloud
  down_s      `down` of a running devcloud
  rss_mib     RSS of every devcloud process after the warm `up` (shared pages counted per process)
  pss_mib     the same as PSS (shared pages split), what the processes really cost together
  processes   how many processes that is
  cpus        cores used (make bench pins benches to one core; devcloud's goal is for 2, so this
              bench restores the full affinity for the daemons it starts)

It runs in a temporary state folder with its own clouds.yaml, so it never touches the default
devcloud's data: if that one runs, it is stopped first (ports are shared) and started again after.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from govcloud.devcloud import Layout, down, procs, status, up  # noqa: E402


def _timed(fn, *args, **kwargs) -> float:
    begin = time.monotonic()
    fn(*args, **kwargs)
    return round(time.monotonic() - begin, 1)


def _memory(layout: Layout) -> tuple[float, float, int]:
    pids = [pid for s in status(layout).services if s.pid for pid in procs.group_members(s.pid)]
    return (round(procs.rss_bytes(pids) / 1024**2), round(procs.pss_bytes(pids) / 1024**2),
            len(pids))


def main() -> None:
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    default = Layout.default()
    default_was_running = default.root.exists() and bool(status(default).running)
    if default_was_running:
        down(default)
    saved_env = {k: os.environ.get(k) for k in ("GOVCLOUD_STATE_DIR", "OS_CLIENT_CONFIG_FILE")}
    tmp = Path(tempfile.mkdtemp(prefix="devcloud-bench-"))
    os.environ["GOVCLOUD_STATE_DIR"] = str(tmp / "state")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(tmp / "clouds.yaml")
    layout = Layout.default()
    result: dict[str, float | int] = {}
    try:
        result["cold_s"] = _timed(up, layout)
        result["down_s"] = _timed(down, layout)
        result["warm_s"] = _timed(up, layout)
        result["noop_s"] = _timed(up, layout)
        result["rss_mib"], result["pss_mib"], result["processes"] = _memory(layout)
        down(layout)
        for child in layout.root.iterdir():
            if child != layout.cache:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        result["cached_s"] = _timed(up, layout)
    finally:
        down(layout, purge=True)
        shutil.rmtree(tmp, ignore_errors=True)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if default_was_running:
            up(default)
    result["cpus"] = len(os.sched_getaffinity(0))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
