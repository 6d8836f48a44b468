"""plan, drift and apply speak Chinese under LANG=zh_CN.UTF-8 (on the fake cloud of the
provisioning CLI tests); the JSON keeps its canonical words."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from govcloud.cli.app import app
from tests.unit.test_provision_cli import fake_cloud  # noqa: F401  (the fixture)

ZH = {"LANG": "zh_CN.UTF-8"}
runner = CliRunner()


def _cli(fake, *args, env=ZH):
    return runner.invoke(app, list(args), obj=fake.service, env=env)


def test_plan_and_apply_say_no_changes_in_chinese(fake_cloud):  # noqa: F811
    path, fake = fake_cloud
    plan = _cli(fake, "plan", str(path), "-o", "table")
    assert plan.exit_code == 0, plan.output
    assert "无变更。云平台与资源申请一致。" in plan.stdout
    assert "计划：新增 0，修改 0，删除 0。" in plan.stdout
    assert "No changes" not in plan.output and "Plan:" not in plan.output
    assert "API 调用" in plan.output  # the summary on stderr
    applied = _cli(fake, "apply", str(path), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "云平台 devcloud：无变更；云平台与资源申请一致" in applied.output
    assert "the cloud matches" not in applied.output


def test_drift_in_chinese_keeps_canonical_json(fake_cloud):  # noqa: F811
    path, fake = fake_cloud
    fake.actual = [r for r in fake.actual if r.kind != "router"]  # deleted by hand
    table = _cli(fake, "drift", str(path), "-o", "table")
    assert table.exit_code == 1, table.output
    assert "缺失" in table.stdout and "配置漂移：1 缺失。" in table.stdout
    assert "（租户 health-epi，REQ-1）" in table.stdout
    assert "missing" not in table.stdout and "Drift:" not in table.stdout
    doc = json.loads(_cli(fake, "drift", str(path), "-o", "json").stdout)
    assert [(r["status"], r["kind"]) for r in doc["drift"]] == [("missing", "router")]
    assert doc["summary"] == {"missing": 1}
    english = _cli(fake, "--lang", "en", "drift", str(path), "-o", "table")
    assert "Drift: 1 missing." in english.stdout
