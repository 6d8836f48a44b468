"""Hostile files (issue 13, part 8): special files, alias bombs per file, NaN, invisible chars.

Real files: a FIFO made with mkfifo, a symlink to /dev/zero, a Unix socket, alias bombs as text.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from govcloud import loader
from govcloud.loader import LoadLimits, load_paths, load_text
from tests.unit.helpers import BASE, REQUEST, load_texts

# ---------------------------------------------------------------- only regular files


def _load_in_thread(paths: list[Path], seconds: float = 5.0) -> loader.LoadResult:
    out: list[loader.LoadResult] = []
    worker = threading.Thread(target=lambda: out.append(load_paths(paths)), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        for path in paths:  # let the blocked reader go, so the test process can end
            for fifo in [path, *path.glob("*")] if path.is_dir() else [path]:
                if fifo.is_fifo():
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading blocked")
    return out[0]


def test_symlink_to_dev_zero_is_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    tracemalloc.start()
    try:
        result = _load_in_thread([tmp_path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (error,) = result.input_errors
    assert error.file.endswith("zero.yaml") and "character device" in error.message
    assert "not a regular file" in error.message
    assert peak < 5 * 1024 * 1024  # nothing read (the old loader read until memory ran out)


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (error,) = _load_in_thread([tmp_path / "pipe.yaml"]).input_errors
    assert "FIFO" in error.message and "not a regular file" in error.message


def test_fifo_inside_a_folder_is_refused_and_the_rest_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a-pipe.yaml")
    (tmp_path / "b.yaml").write_text("a: 1\n")
    result = _load_in_thread([tmp_path])
    assert [d.body for d in result.documents] == [{"a": 1}]
    assert len(result.input_errors) == 1 and "FIFO" in result.input_errors[0].message


def test_socket_and_link_to_a_socket_are_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.yaml"))
        (tmp_path / "link.yaml").symlink_to(tmp_path / "s.yaml")
        result = _load_in_thread([tmp_path])
    assert len(result.input_errors) == 2
    assert all("not a regular file" in e.message for e in result.input_errors)


def test_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.txt")
    assert [d.body for d in load_paths([tmp_path / "link.yaml"]).documents] == [{"a": 1}]


# ---------------------------------------------------------------- alias budget per file


def _small_bomb(levels: int = 5) -> str:
    """One document just under the old per-document budget: 9**5 = 59,049 nodes."""
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_many_small_bombs_in_one_file_are_refused_fast_and_small() -> None:
    text = "---\n".join([_small_bomb()] * 82)  # ~14 KB; the old loader built 4.8 M nodes
    assert 10_000 < len(text) < 16_000
    tracemalloc.start()
    start = time.process_time()
    try:
        result = load_text(text, "bombs.yaml")
        cpu = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (error,) = result.input_errors
    assert "alias" in error.message and error.file == "bombs.yaml" and error.line is not None
    assert len(result.documents) <= 1  # the first one fits the file's budget; no more
    assert cpu < 2.0  # (was 13 s) bounded: sizes are counted once per node, not expanded
    assert peak < 200 * 1024 * 1024  # (a 34 KB file reached 1.6 GB)


def test_a_34kb_file_of_bombs_stays_small() -> None:
    text = "---\n".join([_small_bomb()] * 240)
    assert len(text) > 33_000
    tracemalloc.start()
    try:
        result = load_text(text, "bombs.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.input_errors and peak < 200 * 1024 * 1024


def test_one_deep_bomb_is_refused_before_expanding() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 20):  # 10**20 nodes if expanded
        prev, cur = f"n{i - 1}" if i > 1 else "a", f"n{i}"
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.process_time()
    result = load_text("\n".join(lines) + "\n", "deep-bomb.yaml")
    assert time.process_time() - start < 1.0
    assert "alias" in result.input_errors[0].message


def test_merge_key_bomb_is_counted() -> None:
    lines = ["a0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}"]
    for i in range(1, 8):
        keys = ", ".join(f"m{j}: *a{i - 1}" for j in range(10))
        lines.append(f"a{i}: &a{i} {{<<: [*a{i - 1}], {keys}}}")
    result = load_text("\n".join(lines) + "\n", "merge-bomb.yaml")
    assert result.input_errors and "alias" in result.input_errors[0].message


def test_recursive_alias_is_refused() -> None:
    result = load_text("a: &a [1, *a]\n", "loop.yaml")
    assert not result.documents
    assert "recursive alias" in result.errors[0].message


def test_ordinary_aliases_within_budget_are_fine() -> None:
    text = "base: &b {x: 1, y: [1, 2, 3]}\nthings: [*b, *b, *b]\n---\nother: *b\n".replace(
        "other: *b", "other: 1")
    result = load_text(text, "ok.yaml")
    assert not result.errors and not result.input_errors
    assert result.documents[0].body["things"][2] == {"x": 1, "y": [1, 2, 3]}


def test_the_budget_is_per_file_not_per_document() -> None:
    doc = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: [" + ", ".join(["*a"] * 10) + "]\n"
    limits = LoadLimits(max_alias_nodes=250)  # each document adds 100 - 1 + ... ~100 nodes
    assert not load_text(doc, "one.yaml", limits).input_errors
    result = load_text("---\n".join([doc] * 3), "three.yaml", limits)
    assert result.input_errors and len(result.documents) == 2


# ---------------------------------------------------------------- NaN and infinity


@pytest.mark.parametrize("spelling", [".nan", ".NaN", ".NAN", ".inf", ".Inf", "-.inf", "-.Inf",
                                      "+.INF", "1.0e+999", "-1.5e+400"])
def test_nan_and_infinity_are_refused_with_line_and_path(spelling: str) -> None:
    result = load_text(f"spec:\n  quotas:\n    cores: {spelling}\n", "nan.yaml")
    (error,) = result.errors
    assert error.file == "nan.yaml" and error.line == 3 and error.path == "/spec/quotas/cores"
    assert "not a finite number" in error.message


def test_quoted_nan_is_just_text_and_big_finite_floats_pass() -> None:
    (doc,) = load_text("a: '.nan'\nb: 1.5e+300\n", "f.yaml").documents
    assert doc.body == {"a": ".nan", "b": 1.5e300}


def test_nan_in_a_request_never_reaches_a_policy(tmp_path: Path) -> None:
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("cores: 8", "cores: .nan"))
    assert any("not a finite number" in e.message and e.path == "/spec/quotas/cores"
               for e in v.errors)
    assert not v.catalog.of_kind("ResourceRequest")


# ---------------------------------------------------------------- invisible characters


@pytest.mark.parametrize("escaped, code", [
    ("\\x1b[31mred", "U+001B"),        # a terminal escape
    ("evil\\u202Egnp.exe", "U+202E"),  # RIGHT-TO-LEFT OVERRIDE (Trojan Source)
    ("prov\\u200Bhealth", "U+200B"),   # ZERO WIDTH SPACE: two ids that look alike
    ("a\\u2066b", "U+2066"),           # LEFT-TO-RIGHT ISOLATE
    ("nul\\0byte", "U+0000"),
    ("bom\\uFEFF", "U+FEFF"),
    ("c1\\x85", "U+0085"),
    ("joiner\\u200D", "U+200D"),
])
def test_invisible_characters_are_refused_in_values(escaped: str, code: str) -> None:
    result = load_text(f'metadata:\n  name: "{escaped}"\n', "inv.yaml")
    (error,) = result.errors
    assert error.line == 2 and error.path == "/metadata/name" and code in error.message


def test_invisible_characters_are_refused_in_keys() -> None:
    (error,) = load_text('spec:\n  "ro\\u202Ele": x\n', "k.yaml").errors
    assert "U+202E" in error.message and error.line == 2
    (error,) = load_text('spec:\n  "a\\tb": x\n', "k.yaml").errors
    assert "tab or line break" in error.message


def test_text_with_line_breaks_tabs_and_chinese_is_fine() -> None:
    text = "purpose: |\n  疫情上报系统\n  second line\twith a tab\nname: 省卫生健康委员会\n"
    (doc,) = load_text(text, "ok.yaml").documents
    assert doc.body["purpose"] == "疫情上报系统\nsecond line\twith a tab\n"


def test_an_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    """A block scalar id is 'REQ-1\\n'; Python's '$' matched before that newline."""
    req = REQUEST.replace("metadata: {id: REQ-1}\n", "metadata:\n  id: |\n    REQ-1\n")
    assert req != REQUEST
    v = load_texts(tmp_path, base=BASE, req=req)
    assert any(e.path == "/metadata/id" and "not a valid id" in e.message for e in v.errors)
    assert not v.catalog.of_kind("ResourceRequest")


def test_the_invisible_table_covers_every_control_and_format_character() -> None:
    missing = [f"U+{cp:04X}" for cp in range(sys.maxunicode + 1)
               if unicodedata.category(chr(cp)) in ("Cc", "Cf")
               and chr(cp) not in "\t\n\r" and not loader._INVISIBLE.match(chr(cp))]
    assert missing == []
