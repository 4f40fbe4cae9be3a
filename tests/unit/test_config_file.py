"""floe.yaml as a file: an empty one is an error, an unclosed quote is named where it opens
(issue #7, item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs import cli
from platform_defs.config import ConfigError, load_project

pytestmark = pytest.mark.unit

MANIFEST = "catalog:\n  uri: sqlite:///.floe/catalog.db\n  warehouse: .floe/warehouse\n"

# Shaped like the shipped floe.yaml: the line numbers below are this text's.
FLOE = """\
# yaml-language-server: $schema=schemas/floe.schema.json
version: 1

ingestion:
  - name: wearable_daily_activity
    type: dlt
    description: Daily steps per wearable user.
    destination: bronze.daily_activity
    write_disposition: merge
    primary_key: [Id, ActivityDate]
    schedule: "0 5 * * *"
    dlt:
      source: "json:loads"

  - name: wearable_sleep
    type: dlt
    description: Nightly sleep records per wearable user.
    destination: bronze.sleep
    write_disposition: merge
    primary_key: [Id, SleepDay]
    schedule: "0 5 * * *"
    dlt:
      source: "json:loads"
"""
SCHEDULE_LINE = 11  # `schedule: "0 5 * * *"` of the first entry
DESCRIPTION_LINE = 7


def _issues(tmp_path: Path, floe: str) -> list[str]:
    (tmp_path / "floe.yaml").write_text(floe, encoding="utf-8")
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_project(tmp_path, check_plugins=False)
    return [str(issue) for issue in excinfo.value.issues]


def _edit_line(text: str, line: int, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


def test_the_sample_text_is_valid(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text(FLOE, encoding="utf-8")
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    assert len(load_project(tmp_path, check_plugins=False).floe.ingestion) == 2


# -- no pipelines ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n"])
def test_an_empty_floe_yaml_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    assert _issues(tmp_path, text) == [
        "floe.yaml: the file is empty: add `version: 1` and an `ingestion:` list with at least "
        "one pipeline (see docs/configuration.md)"
    ]


def test_a_floe_yaml_without_ingestion_is_an_error(tmp_path: Path) -> None:
    assert _issues(tmp_path, "version: 1\n") == [
        "floe.yaml:1: ingestion: no pipelines: add an `ingestion:` list with at least one "
        "pipeline (see docs/configuration.md)"
    ]


def test_an_empty_ingestion_list_is_an_error(tmp_path: Path) -> None:
    assert _issues(tmp_path, "version: 1\n\ningestion: []\n") == [
        "floe.yaml:3: ingestion: no pipelines: add at least one pipeline to the list "
        "(see docs/configuration.md)"
    ]


def test_floe_validate_fails_on_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "floe.yaml").write_text("", encoding="utf-8")
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    assert cli.main(["validate", "--project-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "ok:" not in captured.out
    assert "floe.yaml: the file is empty" in captured.err


# -- unclosed quotes ---------------------------------------------------------------------------


def test_an_unclosed_double_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    # YAML reads on to the next `"` (the source on line 13) and fails there.
    text = _edit_line(FLOE, SCHEDULE_LINE, '"0 5 * * *"', '"0 5 * * *')
    assert _issues(tmp_path, text) == [
        f'floe.yaml:{SCHEDULE_LINE}: unclosed quote: the " opened on this line is not closed '
        "on it, so the value runs on to line 13"
    ]


def test_an_unclosed_quote_in_a_description_is_reported_where_it_opens(tmp_path: Path) -> None:
    text = _edit_line(FLOE, DESCRIPTION_LINE, "description: Daily", 'description: "Daily')
    assert _issues(tmp_path, text) == [
        f'floe.yaml:{DESCRIPTION_LINE}: unclosed quote: the " opened on this line is not '
        f"closed on it, so the value runs on to line {SCHEDULE_LINE}"
    ]


def test_a_quote_never_closed_is_reported_where_it_opens_not_at_the_end(tmp_path: Path) -> None:
    # No other `'` in the file: the scanner meets the end of the file (line 24).
    text = _edit_line(FLOE, DESCRIPTION_LINE, "description: Daily", "description: 'Daily")
    assert _issues(tmp_path, text) == [
        f"floe.yaml:{DESCRIPTION_LINE}: unclosed quote: the ' opened on this line is never closed"
    ]


def test_other_syntax_errors_keep_the_parsers_line(tmp_path: Path) -> None:
    text = _edit_line(FLOE, 10, "primary_key: [Id, ActivityDate]", "primary_key: [Id, ActivityDate")
    (issue,) = _issues(tmp_path, text)
    assert issue.startswith("floe.yaml:11: invalid YAML: ")
    assert "unclosed quote" not in issue


def test_a_multi_line_quoted_value_that_parses_is_fine(tmp_path: Path) -> None:
    text = _edit_line(
        FLOE, DESCRIPTION_LINE, "Daily steps per wearable user.", '"Daily steps\n      per user."'
    )
    (tmp_path / "floe.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    project = load_project(tmp_path, check_plugins=False)
    assert project.floe.ingestion[0].description == "Daily steps per user."
