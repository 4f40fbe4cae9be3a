"""The data of the crash and concurrency tests, and the rows each sequence of runs must leave.

Rows are ``{"Id", "Value", "Version"}``; the table holds them as ``id, value, version``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.crash.harness import Entry


def rows(ids: Iterable[int], version: int = 1) -> list[dict[str, Any]]:
    """Source rows; a row's value follows from its id and version."""
    return [{"Id": i, "Value": f"v{version}-{i}", "Version": version} for i in ids]


def as_table(source_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Source rows as the table spells them (dlt's snake_case)."""
    return [{"id": r["Id"], "value": r["Value"], "version": r["Version"]} for r in source_rows]


def expected_rows(disposition: str, loads: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The table after `loads` (each the rows one run extracted) all landed exactly once, in
    order: append -> every row once (the incremental cursor on the id filters out the rows a
    later run extracts again); replace -> the last load; merge -> last row per id wins."""
    if disposition == "replace":
        return as_table(loads[-1]) if loads else []
    by_id: dict[int, dict[str, Any]] = {}
    for load in loads:
        for row in load:
            if disposition == "append":
                by_id.setdefault(row["Id"], row)
            else:
                by_id[row["Id"]] = row
    return as_table(by_id.values())


def entry(name: str, disposition: str, *, namespace: str = "bronze") -> Entry:
    """An entry of `disposition` landing ``<namespace>.<name>`` (rows set per run)."""
    if disposition == "append":
        # the incremental cursor on the id: a run extracts only the ids after the last one
        # extracted, so re-extracting a source after a crash cannot duplicate a row
        return Entry(name, "append", [], namespace=namespace, incremental={"cursor_path": "Id"})
    if disposition == "merge":
        return Entry(name, "merge", [], namespace=namespace, primary_key=("Id",))
    return Entry(name, "replace", [], namespace=namespace)


@dataclass(frozen=True)
class CrashScenario:
    """Three runs: a clean first one (optional), the one that is killed, the re-run.

    Each run's rows tell whether the killed run's package was lost or landed twice: append
    sources are cumulative (the killed run's new ids 5..9 come back only from its package,
    since its extract already moved the cursor past them), merge's re-run does not touch ids
    2..5 (only the killed run's package sets them to version 2), replace's re-run replaces all.
    """

    disposition: str
    first: list[dict[str, Any]]
    killed: list[dict[str, Any]]
    rerun: list[dict[str, Any]]

    def expected(self, *, with_first: bool) -> list[dict[str, Any]]:
        loads = [self.first] if with_first else []
        return expected_rows(self.disposition, [*loads, self.killed, self.rerun])


CRASH_SCENARIOS = {
    "append": CrashScenario("append", rows(range(5)), rows(range(10)), rows(range(15))),
    "replace": CrashScenario("replace", rows(range(5)), rows(range(8), 2), rows(range(3, 10), 3)),
    "merge": CrashScenario("merge", rows(range(5)), rows(range(2, 8), 2), rows(range(6, 10), 3)),
}


def concurrent_round_rows(disposition: str, round_: int) -> list[dict[str, Any]]:
    """What both concurrent runs of round `round_` extract (the same source, the same data).

    append: cumulative ids (the cursor lets each round's 3 new ids through, once); merge: 6
    ids overlapping the previous round's (3 updated, 3 new); replace: 5 ids shifted by one."""
    if disposition == "append":
        return rows(range(3 * (round_ + 1)))
    if disposition == "merge":
        return rows(range(3 * round_, 3 * round_ + 6), round_ + 1)
    return rows(range(round_, round_ + 5), round_ + 1)
