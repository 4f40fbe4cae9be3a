"""The manifest's ``alerts:`` block: channels by secret reference only, line-numbered errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from platform_defs.config import ConfigError, load_project
from platform_defs.config.alerts import EmailChannel, WebhookChannel

pytestmark = pytest.mark.unit

FLOE_YAML = """\
ingestion:
  - name: orders
    destination: bronze.orders
    dlt: {source: 'json:loads'}
"""
CATALOG = "catalog: {uri: 'sqlite:///.floe/catalog.db', warehouse: .floe/warehouse}\n"


def write(root: Path, alerts: str) -> Path:
    (root / "floe.yaml").write_text(FLOE_YAML)
    (root / "platform-manifest.yaml").write_text(CATALOG + textwrap.dedent(alerts))
    return root


def issues(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_project(root, check_plugins=False)
    return [str(issue) for issue in excinfo.value.issues]


def test_both_channels_as_documented(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        alerts:
          ui_base_url: https://dagster.example.com/
          channels:
            slack:
              type: webhook
              url_ref: slack-webhook-url
            oncall:
              type: email
              host: smtp.example.com
              from: floe@example.com
              to: [data-oncall@example.com]
              username: floe
              password_ref: smtp-password
        """,
    )
    alerts = load_project(tmp_path, check_plugins=False).manifest.alerts
    slack, oncall = alerts.channels["slack"], alerts.channels["oncall"]
    assert isinstance(slack, WebhookChannel) and slack.url_ref == "slack-webhook-url"
    assert isinstance(oncall, EmailChannel)
    assert (oncall.port, oncall.starttls, oncall.from_address) == (587, True, "floe@example.com")
    assert alerts.run_url("abc") == "https://dagster.example.com/runs/abc"
    assert alerts.delivery.delay_before(1) == 60 and alerts.delivery.delay_before(20) == 3600


def test_the_default_is_no_channel(tmp_path: Path) -> None:
    write(tmp_path, "")
    alerts = load_project(tmp_path, check_plugins=False).manifest.alerts
    assert alerts.channels == {}
    assert alerts.run_url("abc") == "http://127.0.0.1:3000/runs/abc"


def test_errors_name_the_line_and_key_of_the_channel(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        alerts:
          channels:
            slack:
              type: webhook
            oncall:
              type: email
              host: smtp.example.com
              port: lots
              from: floe@example.com
              to: [nobody]
            sms:
              type: sms
        """,
    )
    found = issues(tmp_path)
    assert any(line.startswith("platform-manifest.yaml:4: alerts.channels.slack") for line in found)
    assert any(
        line.startswith("platform-manifest.yaml:9: alerts.channels.oncall.port") for line in found
    )
    assert any(
        line.startswith("platform-manifest.yaml:11: alerts.channels.oncall.to")
        and "'nobody' is not an email address" in line
        for line in found
    )
    assert (
        "platform-manifest.yaml:13: alerts.channels.sms.type: 'sms' is not a channel type: "
        "use one of webhook, email" in found
    )
    assert not any(".webhook." in line or ".email." in line for line in found)


def test_a_login_needs_both_the_user_and_the_password_reference(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        alerts:
          channels:
            oncall: {type: email, host: smtp, from: a@b.c, to: [d@e.f], username: floe}
        """,
    )
    (problem,) = issues(tmp_path)
    assert problem.startswith("platform-manifest.yaml:4: alerts.channels.oncall: ")
    assert "username and password_ref go together" in problem


def test_a_webhook_url_pasted_as_the_reference_is_refused_without_being_repeated(
    tmp_path: Path,
) -> None:
    leaked = "https://hooks.slack.com/services/T0/B0/Hunter2token"
    write(
        tmp_path,
        f"""\
        alerts:
          channels:
            slack: {{type: webhook, url_ref: "{leaked}"}}
        """,
    )
    (problem,) = issues(tmp_path)
    assert problem.startswith("platform-manifest.yaml:4: alerts.channels.slack.url_ref: ")
    assert "Hunter2token" not in problem and "hooks.slack.com" not in problem


def test_the_ui_url_must_be_http(tmp_path: Path) -> None:
    write(tmp_path, "alerts: {ui_base_url: 'dagster.local:3000'}\n")
    (problem,) = issues(tmp_path)
    assert "alerts.ui_base_url" in problem and "not an http(s) URL" in problem
