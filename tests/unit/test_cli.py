"""CLI behaviour through typer's CliRunner: exit codes, one-line errors, no tracebacks."""

import json

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from tests.unit.helpers import BASE, REQUEST, write

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(map(str, args)))


@pytest.fixture
def docs(tmp_path, monkeypatch):
    """A request folder; the authority data it refers to is the inventory ``tmp/inv``."""
    write(tmp_path / "inv", "base.yaml", BASE)
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(tmp_path / "inv"))
    write(tmp_path / "docs", "req.yaml", REQUEST)
    return tmp_path / "docs"


def test_validate_ok(docs):
    result = invoke("validate", docs)
    assert result.exit_code == 0, result.output
    assert "are valid" in result.output


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("purpose:", "purpse:", "unknown field 'purpse'"),
        ("cores: 8", "cores: lots", "must be an integer"),
        ("os: kylin-v10", "os: kylin-v9", "Component 'kylin-v9' does not exist"),
    ],
)
def test_validate_errors_are_one_clear_line(docs, old, new, words):
    (docs / "req.yaml").write_text((docs / "req.yaml").read_text().replace(old, new))
    result = invoke("validate", docs, "-o", "table")
    assert result.exit_code == 1
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert "req.yaml:" in line and words in line
    assert "Traceback" not in result.output


def test_broken_yaml_exits_2_with_file_line(docs):
    (docs / "broken.yaml").write_text("a: [1, 2\nb: 3\n")
    result = invoke("validate", docs, "-o", "table")
    assert result.exit_code == 2
    assert "broken.yaml:" in result.output and "YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_missing_path_exits_2(tmp_path):
    result = invoke("validate", tmp_path / "nope")
    assert result.exit_code == 2 and "no such file" in result.output


def test_unknown_option_exits_2(docs):
    assert invoke("check", docs, "--frobnicate").exit_code == 2


def test_bad_format_and_fail_on_exit_2(docs):
    assert invoke("check", docs, "-o", "pdf").exit_code == 2
    assert invoke("check", docs, "--fail-on", "severe").exit_code == 2


def test_check_json_shape(docs):
    result = invoke("check", docs, "-o", "json")
    report = json.loads(result.stdout)
    assert set(report) >= {"version", "summary", "findings", "errors"}
    assert report["version"] == 1
    assert set(report["summary"]) == {"critical", "high", "medium", "low", "waived"}
    for finding in report["findings"]:
        assert set(finding) >= {"policy", "title", "severity", "target", "message", "file",
                                "line", "path", "waived", "waiver"}


def test_check_fail_on_controls_exit_code(docs):
    text = (docs / "req.yaml").read_text().replace("port: 443", "port: 22")
    (docs / "req.yaml").write_text(text)
    result = invoke("check", docs, "-o", "json", "--fail-on", "low")
    assert result.exit_code == 1
    assert invoke("check", docs, "-o", "json", "--fail-on", "never").exit_code == 0


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "html", "markdown"])
def test_check_every_format_writes_output_file(docs, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = invoke("check", docs, "-o", fmt, "--output", out, "--fail-on", "never")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0


def test_invalid_document_makes_check_exit_1(docs):
    (docs / "req.yaml").write_text((docs / "req.yaml").read_text().replace("cores: 8", "cores: x"))
    result = invoke("check", docs, "-o", "json", "--fail-on", "never")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"]


def test_schema_command(tmp_path):
    result = invoke("schema", "ResourceRequest")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["properties"]["kind"] == {"const": "ResourceRequest"}
    assert invoke("schema", "Nope").exit_code == 2


def test_policies_command_lists_baseline():
    result = invoke("policies", "-o", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) >= 15


def test_bad_policies_dir_exits_2(docs, tmp_path):
    result = invoke("check", docs, "--policies", tmp_path / "none")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_error_boundary_maps_every_error_to_its_exit_code():
    import typer as _typer

    from govcloud.cli.common import command
    from govcloud.errors import CloudError, ExecutionError, InputError, IntegrityError

    errors = {"input": InputError("bad file", hint="fix it"), "cloud": CloudError(
        "tenant t, server app-1, step create: 503"), "run": ExecutionError("ansible failed"),
        "integrity": IntegrityError("audit.log line 7: hash mismatch")}
    probe = _typer.Typer()

    @probe.command()
    @command
    def boom(which: str) -> None:
        if which == "bug":
            raise KeyError("secret-token-value")
        raise errors[which]

    expected = {"input": 2, "cloud": 3, "run": 3, "integrity": 4, "bug": 3}
    for which, code in expected.items():
        result = runner.invoke(probe, [which])
        assert result.exit_code == code, (which, result.output)
        assert "Traceback" not in result.output
        assert result.output.startswith("govcloud: error: ")
    assert "fix it" in runner.invoke(probe, ["input"]).output
    bug = runner.invoke(probe, ["bug"]).output
    assert "--debug" in bug and "secret-token-value" not in bug
