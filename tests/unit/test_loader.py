import time

from govcloud.loader import LoadLimits, load_file, load_paths, load_text


def test_lines_are_kept_for_every_pointer():
    result = load_text("a: 1\nb:\n  c: [x, y]\n  d:\n    - e: 2\n", "f.yaml")
    (doc,) = result.documents
    assert doc.body == {"a": 1, "b": {"c": ["x", "y"], "d": [{"e": 2}]}}
    assert doc.lines["/b/c"] == 3
    assert doc.lines["/b/d/0/e"] == 5
    assert doc.line_of("/b/d/0/e/missing/deeper") == 5


def test_multiple_documents_and_empty_ones():
    result = load_text("a: 1\n---\n---\nb: 2\n", "f.yaml")
    assert [d.body for d in result.documents] == [{"a": 1}, {"b": 2}]
    assert [d.line for d in result.documents] == [1, 4]


def test_duplicate_keys_are_errors_with_both_lines():
    result = load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    (error,) = result.errors
    assert error.line == 3 and error.path == "/a"
    assert "duplicate key 'a'" in error.message and "line 1" in error.message


def test_python_tags_are_never_constructed():
    result = load_text("x: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "f.yaml")
    assert not result.documents
    assert "not allowed" in result.errors[0].message


def test_custom_tags_refused():
    result = load_text("x: !Ref foo\n", "f.yaml")
    assert "tag" in result.errors[0].message


def test_dates_stay_strings():
    (doc,) = load_text("expires: 2026-12-31\n", "f.yaml").documents
    assert doc.body["expires"] == "2026-12-31"


def test_merge_keys_merge_with_explicit_keys_winning():
    text = "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n"
    (doc,) = load_text(text, "f.yaml").documents
    assert doc.body["thing"] == {"x": 1, "y": 3}


def test_billion_laughs_fails_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    result = load_text("\n".join(lines) + "\n", "bomb.yaml")
    elapsed = time.perf_counter() - start
    assert not result.documents
    assert "alias" in result.input_errors[0].message  # the file is refused: exit 2
    assert elapsed < 5  # bounded, not exponential (100k nodes take ~0.1 s)


def test_nesting_depth_is_bounded():
    text = "a: " + "[" * 80 + "]" * 80 + "\n"
    result = load_text(text, "deep.yaml", LoadLimits(max_depth=64))
    assert "nesting" in result.errors[0].message


def test_broken_yaml_is_an_input_error_with_line():
    result = load_text("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    (error,) = result.input_errors
    assert error.file == "bad.yaml" and error.line is not None
    assert "YAML syntax error" in error.message


def test_file_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n")
    result = load_file(path, LoadLimits(max_bytes=1000))
    assert "limit" in result.input_errors[0].message


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"a: \xe9\n")
    assert "UTF-8" in load_file(path).input_errors[0].message


def test_walks_folders_and_reports_missing_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.yaml").write_text("a: 1\n")
    (tmp_path / "two.yml").write_text("b: 2\n")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("c: 3\n")
    result = load_paths([tmp_path, tmp_path / "missing.yaml"])
    assert sorted(d.body.popitem()[0] for d in result.documents) == ["a", "b"]
    assert "no such file" in result.input_errors[0].message
