"""The usage page in Debian's headless Chromium, against a real ``floe api serve``.

A producer key scoped to one port pushes three weeks of usage through the SDK (with two
days never pushed and one day of zeros); the page is opened, the key typed in, and the
three charts must show exactly what the API answers for the same query — as plotly's own
trace data, as SVG drawn, in hover labels and in the table. Every request the page makes
must go to the server on 127.0.0.1 (plotly.js included: no CDN). The screenshots land in
tests/ui/artifacts/ (ignored by git).

No browser is downloaded: without /usr/bin/chromium the tests skip, unless
FLOE_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from data_portal_sdk import DataPortalClient

from platform_defs.ops import OpsStore
from platform_defs.ops.usage import create_api_key
from tests.api.data import day, uid
from tests.api.server import ApiServer
from tests.ui.usage_data import CONSUMERS, MISSING_DAYS, ZERO_DAY, usage_days

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHARTS = ("queries", "distribution", "assets")
WAIT_MS = 20_000

PORT = uid("ui-port")
OTHER_PORT = uid("ui-other-port")


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("FLOE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FLOE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Served:
    url: str
    token: str

    def api(self, chart: str, port: uuid.UUID = PORT, **params: Any) -> Any:
        response = httpx.get(
            f"{self.url}/api/v1/output-ports/{port}/usage/{chart}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def page_url(self, port: uuid.UUID = PORT) -> str:
        return f"{self.url}/ui/output-ports/{port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The API on a fresh SQLite ops store, with three weeks of the port's usage pushed."""
    _require_chromium()
    ops_url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ops.db'}"
    with ApiServer(ops_url, "ops") as server:  # migrates the store at start-up
        store = OpsStore(ops_url, "ops")
        try:
            with store.session() as session:
                token = create_api_key(session, "warehouse", [PORT]).token
        finally:
            store.dispose()
        query_stats, asset_stats = usage_days()
        with DataPortalClient(api_key=token, base_url=server.url) as client:
            client.push_usage_stats(PORT, query_stats, asset_stats)
        yield Served(server.url, token)


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Page:
    """A page and what it did: every request, and console errors (CSP violations among them)."""

    page: Any
    requests: list[Any]
    errors: list[str]


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    recorded = Page(page, [], [])
    page.on("request", lambda request: recorded.requests.append(request))
    page.on("console", lambda m: recorded.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    yield recorded
    context.close()


def _enter_key(page: Any, token: str) -> None:
    page.fill("#api-key", token)
    page.get_by_role("button", name="Show usage").click()


def _wait_ready(page: Any, granularity: str = "day") -> None:
    for chart in CHARTS:
        page.wait_for_selector(f"#card-{chart}[data-state=ready]")
    page.wait_for_selector(f"#card-queries[data-shown-granularity={granularity}]")


def _traces(page: Any, chart: str) -> dict[str, dict[str, Any]]:
    """plotly's trace data of a chart, by trace name (what it draws and hovers)."""
    traces = page.evaluate(
        """id => document.getElementById(id).data.map(
               t => ({name: t.name || "", x: t.x, y: t.y, text: t.text}))""",
        f"chart-{chart}",
    )
    return {trace["name"]: trace for trace in traces}


def _hover_text(page: Any, chart: str, element: Any) -> str:
    # plotly's drag layer sits over the bars, so hover by position, as a mouse would.
    box = element.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = page.locator(f"#chart-{chart} .hoverlayer .hovertext").first
    label.wait_for()
    return str(label.text_content())


def _drawn_bars(page: Any, chart: str) -> int:
    """Bars plotly drew with a height (a null y draws a flat path)."""
    return int(
        page.evaluate(
            """id => [...document.querySelectorAll(`#${id} .barlayer .point path`)]
                   .filter(p => p.getBBox().width > 0 && p.getBBox().height > 0)
                   .length""",
            f"chart-{chart}",
        )
    )


def _check_queries(page: Any, expected: dict[str, Any]) -> None:
    points = expected["points"]
    traces = _traces(page, "queries")
    assert traces["queries"]["x"] == [p["period_start"] for p in points]
    assert traces["queries"]["y"] == [p["query_count"] for p in points]
    no_data = [p["query_count"] is None for p in points]
    assert [y is not None for y in traces["no data reported"]["y"]] == no_data
    # Drawn: one marker per reported period, one shaded band per unreported one.
    markers = page.locator("#chart-queries .scatterlayer .trace").first.locator(".points path")
    assert markers.count() == no_data.count(False)
    assert _drawn_bars(page, "queries") == no_data.count(True)
    total = sum(p["query_count"] or 0 for p in points)
    assert page.text_content("#summary-queries").startswith(f"{total:,} queries")


def test_the_page_draws_the_api_s_numbers_offline(served: Served, page: Page) -> None:
    browser_page = page.page
    browser_page.goto(served.page_url())
    assert browser_page.locator("#charts").is_hidden()  # nothing before a key
    _enter_key(browser_page, served.token)
    _wait_ready(browser_page)
    for chart in CHARTS:
        assert browser_page.locator(f"#chart-{chart} svg.main-svg").count() >= 1, chart

    # Queries over time, by day: the default window ends on the port's last reported day.
    by_day = served.api("queries-over-time", granularity="day")
    assert by_day["end"] == day(1).isoformat()
    counts = [p["query_count"] for p in by_day["points"]]
    assert None in counts and 0 in counts  # "no push" and "0 queries" both on the chart
    assert counts.count(None) >= len(MISSING_DAYS)
    _check_queries(browser_page, by_day)
    zero = next(p for p in by_day["points"] if p["period_start"] == day(ZERO_DAY).isoformat())
    assert zero["query_count"] == 0
    assert browser_page.input_value("#start") == by_day["start"]
    assert browser_page.input_value("#end") == by_day["end"]

    # Distribution: the top 10 and "other"; the consumer with only zeros is absent.
    distribution = served.api("query-distribution", top=10)
    assert len(distribution["consumers"]) == 10
    assert distribution["other"]["consumers"] == len(CONSUMERS) - 1 - 10
    bars = next(iter(_traces(browser_page, "distribution").values()))
    assert bars["x"] == [c["query_count"] for c in distribution["consumers"]] + [
        distribution["other"]["query_count"]
    ]
    ticks = browser_page.locator("#chart-distribution .ytick text").all_text_contents()
    first = distribution["consumers"][0]
    assert ticks[0] == f"#1 {first['consumer_id'][:8]}…"
    assert ticks[-1] == f"other ({distribution['other']['consumers']})"
    assert _drawn_bars(browser_page, "distribution") == 11
    top_bar = browser_page.locator("#chart-distribution .barlayer .point path").first
    hover = _hover_text(browser_page, "distribution", top_bar)
    assert first["consumer_id"] in hover and f"{first['query_count']:,} queries" in hover

    # Popular assets: the bars and the table say what the API says.
    assets = served.api("popular-assets", limit=10)
    assert assets["assets"]
    bars = next(iter(_traces(browser_page, "assets").values()))
    assert bars["x"] == [asset["query_count"] for asset in assets["assets"]]
    rows = [
        row.locator("td").all_text_contents()
        for row in browser_page.locator("#table-assets tbody tr").all()
    ]
    assert rows == [
        [
            str(asset["rank"]),
            asset["tech_asset_id"],
            f"{asset['query_count']:,}",
            f"{asset['consumers']:,}",
            f"{asset['share_of_port_queries'] * 100:.1f}%",
        ]
        for asset in assets["assets"]
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    browser_page.mouse.move(0, 0)  # no hover label in the picture
    browser_page.screenshot(path=ARTIFACTS / "usage-page-day.png", full_page=True)

    # The granularity switch re-fetches queries over time, by ISO week.
    requests_before = len(page.requests)
    browser_page.get_by_role("button", name="Week").click()
    _wait_ready(browser_page, "week")
    by_week = served.api("queries-over-time", granularity="week")
    assert len(by_week["points"]) < len(by_day["points"])
    _check_queries(browser_page, by_week)
    fetched = [urlsplit(r.url) for r in page.requests[requests_before:]]
    assert [u.path.rsplit("/", 1)[-1] for u in fetched] == ["queries-over-time"]
    assert "granularity=week" in fetched[0].query
    browser_page.screenshot(path=ARTIFACTS / "usage-page-week.png", full_page=True)

    # The key stays in this tab: a reload draws the charts again without asking.
    browser_page.reload()
    _wait_ready(browser_page)

    # Offline: every request went to the server on 127.0.0.1 (plotly.js included), and
    # the key only ever travelled in the Authorization header of the API's requests.
    hosts = {urlsplit(r.url).hostname for r in page.requests if not r.url.startswith("data:")}
    assert hosts == {"127.0.0.1"}
    urls = [r.url for r in page.requests]
    assert any(urlsplit(url).path == "/ui/static/plotly.min.js" for url in urls)
    assert not [url for url in urls if served.token in url]
    api_requests = [r for r in page.requests if "/api/v1/" in r.url]
    assert api_requests
    assert {r.headers.get("authorization") for r in api_requests} == {f"Bearer {served.token}"}
    assert page.errors == []


def _error_text(page: Any) -> str:
    page.wait_for_selector("#error:not([hidden])")
    return str(page.text_content("#error"))


def test_errors_are_shown_in_the_page(served: Served, page: Page) -> None:
    browser_page = page.page
    # 401: the key is refused and asked for again.
    browser_page.goto(served.page_url())
    _enter_key(browser_page, "floe_0000000000000000_not-a-real-secret")
    assert "401 UNAUTHORIZED" in _error_text(browser_page)
    browser_page.locator("#key-panel").wait_for()
    assert browser_page.evaluate("() => sessionStorage.length") == 0

    # 403: a key for another port.
    browser_page.goto(served.page_url(OTHER_PORT))
    _enter_key(browser_page, served.token)
    for chart in CHARTS:
        browser_page.wait_for_selector(f"#card-{chart}[data-state=error]")
    assert "403 FORBIDDEN" in _error_text(browser_page)
    assert "not available: 403" in str(browser_page.text_content("#message-queries")).lower()

    # 422: a window that ends before it starts; the API's message is shown, not a blank chart.
    browser_page.goto(served.page_url())
    _wait_ready(browser_page)  # the key of this tab, from sessionStorage
    browser_page.fill("#start", day(2).isoformat())
    browser_page.fill("#end", day(6).isoformat())
    browser_page.get_by_role("button", name="Apply").click()
    for chart in CHARTS:
        browser_page.wait_for_selector(f"#card-{chart}[data-state=error]")
    message = _error_text(browser_page)
    assert "422 VALIDATION_ERROR" in message and "is after end" in message
    assert browser_page.text_content("#window-caption") == ""  # not the last good window
    assert browser_page.locator("#chart-queries svg.main-svg").count() == 0
    browser_page.screenshot(path=ARTIFACTS / "usage-page-error.png", full_page=True)

    # And a valid explicit window draws again, on exactly that window.
    browser_page.fill("#start", day(14).isoformat())
    browser_page.fill("#end", day(8).isoformat())
    browser_page.get_by_role("button", name="Apply").click()
    _wait_ready(browser_page)
    expected = served.api("queries-over-time", start=day(14).isoformat(), end=day(8).isoformat())
    _check_queries(browser_page, expected)
    # The 401/403/422 answers were logged by the browser as failed loads; nothing else.
    assert all("status of 4" in error for error in page.errors), page.errors
