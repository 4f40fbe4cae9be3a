// The usage page of one output port (docs/usage-page.md).
//
// The page holds no secret: it asks for an API key once, keeps it in sessionStorage (this
// tab only) and sends it as `Authorization: Bearer` to the usage API on this origin. Each
// chart card carries data-state (idle | loading | ready | empty | error) so that people and
// tests can tell "still loading" from "nothing to show" from "failed".
"use strict";

(() => {
  const KEY_STORAGE = "floe.usage.apiKey";
  const TOP_CONSUMERS = 10;
  const TOP_ASSETS = 10;
  const DAY_MS = 86400000;

  const COLORS = {
    queries: "#2563eb",
    noData: "rgba(148, 163, 184, 0.28)",
    noDataLine: "rgba(100, 116, 139, 0.55)",
    consumer: "#0d9488",
    other: "#94a3b8",
    asset: "#7c3aed",
    text: "#1f2937",
    grid: "#e5e7eb",
  };

  const portId = document.body.dataset.outputPortId;
  const apiBase = `/api/v1/output-ports/${encodeURIComponent(portId)}/usage`;
  const byId = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat("en-US");
  const percent = (share) => `${(share * 100).toFixed(1)}%`;

  // The latest request of each chart: an older answer arriving late is dropped.
  const sequence = { queries: 0, distribution: 0, assets: 0 };
  let granularity = "day";

  class ApiError extends Error {
    constructor(status, code, message, requestId) {
      super(message);
      this.status = status;
      this.code = code;
      this.requestId = requestId;
    }
  }

  // -- the key -------------------------------------------------------------------------

  const storedKey = () => sessionStorage.getItem(KEY_STORAGE);

  function keyLabel(key) {
    // floe_<key id>_<secret>: the id is not secret and tells keys apart.
    const parts = key.split("_");
    return parts.length >= 3 && parts[0] === "floe" ? `key ${parts[1]}` : "a key";
  }

  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    byId("key-panel").hidden = false;
    byId("controls").hidden = true;
    byId("charts").hidden = true;
    for (const chart of ["queries", "distribution", "assets"]) {
      purge(chart);
      setState(chart, "idle");
    }
    if (message) showError(message);
    else hideError();
    byId("api-key").value = "";
    byId("api-key").focus();
  }

  function showCharts() {
    byId("key-panel").hidden = true;
    byId("controls").hidden = false;
    byId("charts").hidden = false;
    byId("key-label").textContent = `Using ${keyLabel(storedKey())} for this tab.`;
  }

  // -- fetching ------------------------------------------------------------------------

  // While the window is the API's default, no start/end is sent (the API ends it on the
  // port's latest reported day); the inputs only show what the API chose. Editing them
  // makes the window explicit.
  let defaultWindow = true;

  function windowParams() {
    if (defaultWindow) return {};
    const params = {};
    const start = byId("start").value;
    const end = byId("end").value;
    if (start) params.start = start;
    if (end) params.end = end;
    return params;
  }

  async function getJson(chart, params) {
    const query = new URLSearchParams(params);
    let response;
    try {
      response = await fetch(`${apiBase}/${chart}?${query}`, {
        headers: { Authorization: `Bearer ${storedKey()}`, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiError(0, "NETWORK_ERROR", `could not reach the API (${err.message})`, null);
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null; // not JSON: a proxy's error page, say
    }
    if (!response.ok) {
      const error = (payload && payload.error) || {};
      throw new ApiError(
        response.status,
        error.code || `HTTP_${response.status}`,
        error.message || response.statusText || "no message",
        error.request_id || response.headers.get("X-Request-Id"),
      );
    }
    return payload;
  }

  function describe(error) {
    const where = error.requestId ? ` (request id ${error.requestId})` : "";
    if (error.status === 0) return `The API did not answer: ${error.message}.`;
    const prefix = {
      401: "The API key was refused",
      403: "This API key may not read this output port",
      404: "Not found",
      422: "The request was not valid",
    }[error.status] || `The API answered ${error.status}`;
    return `${prefix}: ${error.message} [${error.status} ${error.code}]${where}`;
  }

  async function load(chart, path, params, render) {
    const mine = ++sequence[chart];
    setState(chart, "loading");
    try {
      const data = await getJson(path, params);
      if (mine !== sequence[chart]) return;
      render(data);
    } catch (error) {
      if (mine !== sequence[chart]) return;
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) {
        askForKey(`${describe(error)}. Enter a valid key.`);
        return;
      }
      purge(chart);
      showMessage(chart, `Not available: ${error.status || "no answer"} ${error.code}.`);
      setState(chart, "error");
      showError(describe(error));
    }
  }

  function loadQueries() {
    const params = { ...windowParams(), granularity };
    return load("queries", "queries-over-time", params, renderQueries);
  }

  function loadAll() {
    hideError();
    showCharts();
    byId("window-caption").textContent = ""; // until the API says which window it used
    const params = windowParams();
    return Promise.all([
      loadQueries(),
      load(
        "distribution",
        "query-distribution",
        { ...params, top: TOP_CONSUMERS },
        renderDistribution,
      ),
      load("assets", "popular-assets", { ...params, limit: TOP_ASSETS }, renderAssets),
    ]);
  }

  // -- page state ----------------------------------------------------------------------

  function setState(chart, state) {
    byId(`card-${chart}`).dataset.state = state;
  }

  function showMessage(chart, text) {
    const message = byId(`message-${chart}`);
    message.textContent = text;
    message.hidden = !text;
  }

  function showError(text) {
    const box = byId("error");
    box.textContent = text;
    box.hidden = false;
  }

  function hideError() {
    byId("error").hidden = true;
    byId("error").textContent = "";
  }

  function purge(chart) {
    const element = byId(`chart-${chart}`);
    if (window.Plotly) window.Plotly.purge(element);
    element.replaceChildren();
    byId(`summary-${chart}`).textContent = "";
    if (chart === "assets") {
      byId("table-assets").hidden = true;
      byId("table-assets").tBodies[0].replaceChildren();
    }
  }

  function caption(data) {
    if (defaultWindow) {
      byId("start").value = data.start;
      byId("end").value = data.end;
    }
    byId("window-caption").textContent =
      `Showing ${data.start} to ${data.end}` +
      (defaultWindow ? " (default: the 30 days ending on the port's latest reported day)." : ".");
  }

  // -- charts --------------------------------------------------------------------------

  const CONFIG = {
    responsive: true,
    displaylogo: false,
    displayModeBar: false,
  };

  function layout(extra) {
    return {
      margin: { l: 56, r: 16, t: 8, b: 40 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12,
              color: COLORS.text },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#cbd5e1", font: { color: COLORS.text } },
      ...extra,
    };
  }

  const utcDay = (text) => Date.parse(`${text}T00:00:00Z`);
  const dayCount = (first, last) => Math.round((utcDay(last) - utcDay(first)) / DAY_MS) + 1;

  function periodLabel(point, shown) {
    if (shown === "day") return point.period_start;
    if (shown === "week") return `week ${point.period_start} to ${point.period_end}`;
    const date = new Date(utcDay(point.period_start));
    return date.toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
  }

  // Each point covers its whole period on the time axis (plotly's xperiod), so a week's
  // point sits mid-week and its "no data" band spans Monday to Sunday.
  const PERIODS = {
    day: { xperiod: DAY_MS, tickformat: "%b %d", dtick: undefined },
    // 2024-01-01 was a Monday: weeks and their ticks start on Mondays (ISO weeks).
    week: { xperiod: 7 * DAY_MS, xperiod0: "2024-01-01", tickformat: "%b %d", dtick: 7 * DAY_MS,
            tick0: "2024-01-01" },
    month: { xperiod: "M1", tickformat: "%b %Y", dtick: "M1" },
  };

  function renderQueries(data) {
    const shown = data.granularity;
    const period = PERIODS[shown];
    const points = data.points;
    const x = points.map((p) => p.period_start);
    const y = points.map((p) => p.query_count); // null: nothing reported, drawn as a gap
    const reported = points.filter((p) => p.query_count !== null);
    const top = Math.max(1, ...reported.map((p) => p.query_count));
    // Days of each period inside the window (the first and last periods may be cut).
    const daysIn = points.map((p) =>
      dayCount(p.period_start < data.start ? data.start : p.period_start,
               p.period_end > data.end ? data.end : p.period_end));
    // A period cut by the window or with unreported days is drawn hollow: its sum is
    // not comparable with a full period's.
    const partial = points.map((p) => p.days_reported < dayCount(p.period_start, p.period_end));
    const labels = points.map((p) => periodLabel(p, shown));
    const along = {
      xperiod: period.xperiod,
      xperiodalignment: "middle",
      ...(period.xperiod0 ? { xperiod0: period.xperiod0 } : {}),
    };

    const noData = {
      type: "bar",
      name: "no data reported",
      x,
      y: points.map((p) => (p.query_count === null ? top : null)),
      ...along,
      marker: {
        color: COLORS.noData,
        line: { width: 0 },
        pattern: { shape: "/", fgcolor: COLORS.noDataLine, size: 6, solidity: 0.15 },
      },
      customdata: labels,
      hovertemplate: "%{customdata}<br>no data reported<extra></extra>",
    };
    const queries = {
      type: "scatter",
      mode: "lines+markers",
      name: "queries",
      x,
      y,
      ...along,
      connectgaps: false,
      line: { color: COLORS.queries, width: 2 },
      marker: { color: COLORS.queries, size: shown === "day" ? 6 : 9 },
      customdata: points.map((p, i) => [labels[i], p.days_reported, daysIn[i],
                                         p.active_consumers]),
      hovertemplate:
        "%{customdata[0]}<br><b>%{y:,} queries</b><br>" +
        "%{customdata[1]} of %{customdata[2]} days reported<br>" +
        "%{customdata[3]} active consumers<extra></extra>",
    };
    // Drawn over the series: the partial periods' points, hollow.
    const cut = {
      type: "scatter",
      mode: "markers",
      name: "partial period",
      x,
      y: points.map((p, i) => (partial[i] ? p.query_count : null)),
      ...along,
      showlegend: partial.some((isCut, i) => isCut && points[i].query_count !== null),
      marker: { color: "#ffffff", size: 9, line: { color: COLORS.queries, width: 2 } },
      customdata: queries.customdata,
      hovertemplate: `${queries.hovertemplate.replace("<extra></extra>", "")}` +
        "<br>(a partial period)<extra></extra>",
    };
    window.Plotly.react(
      byId("chart-queries"),
      [noData, queries, cut],
      layout({
        height: 300,
        barmode: "overlay",
        bargap: shown === "day" ? 0.08 : 0.04,
        showlegend: true,
        legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
        margin: { l: 56, r: 16, t: 28, b: 40 },
        xaxis: {
          type: "date",
          tickformat: period.tickformat,
          ...(period.dtick ? { dtick: period.dtick } : {}),
          ...(period.tick0 ? { tick0: period.tick0 } : {}),
          ticklabelmode: shown === "day" ? "instant" : "period",
          // Exactly the periods shown: one month alone still gets its axis and label.
          range: points.length
            ? [x[0], new Date(utcDay(points[points.length - 1].period_end) + DAY_MS).toISOString()
                .slice(0, 10)]
            : undefined,
          gridcolor: COLORS.grid,
          automargin: true,
        },
        yaxis: { title: { text: "queries" }, rangemode: "tozero", gridcolor: COLORS.grid,
                 tickformat: ",d", range: [0, top * 1.1] },
      }),
      CONFIG,
    );
    const total = reported.reduce((sum, p) => sum + p.query_count, 0);
    const daysReported = points.reduce((sum, p) => sum + p.days_reported, 0);
    const days = dayCount(data.start, data.end);
    const hollow = partial.some((cut, i) => cut && points[i].query_count !== null)
      ? " · hollow points: partial periods (cut by the window or not fully reported)"
      : "";
    byId("summary-queries").textContent =
      `${number.format(total)} queries · ${daysReported} of ${days} days reported${hollow}`;
    byId("card-queries").dataset.shownGranularity = shown;
    caption(data);
    if (reported.length === 0) {
      showMessage("queries", `No data reported between ${data.start} and ${data.end}.`);
      setState("queries", "empty");
    } else {
      showMessage("queries", "");
      setState("queries", "ready");
    }
  }

  const shortId = (id) => `${id.slice(0, 8)}…`;

  function horizontalBars(chart, rows, color, hovertemplate) {
    // Bars at positions 0..n-1 with the labels as tick text: two ids sharing their first
    // characters stay two bars (a category axis would merge equal labels).
    const positions = rows.map((_, i) => i);
    window.Plotly.react(
      byId(`chart-${chart}`),
      [
        {
          type: "bar",
          orientation: "h",
          x: rows.map((r) => r.count),
          y: positions,
          text: rows.map((r) => `${number.format(r.count)} · ${percent(r.share)}`),
          textposition: "outside",
          cliponaxis: false,
          marker: { color: rows.map((r) => (r.other ? COLORS.other : color)) },
          customdata: rows.map((r) => r.hover),
          hovertemplate,
        },
      ],
      layout({
        height: Math.max(180, 48 + rows.length * 28),
        margin: { l: 16, r: 96, t: 8, b: 36 },
        bargap: 0.25,
        showlegend: false,
        xaxis: { rangemode: "tozero", gridcolor: COLORS.grid, tickformat: ",d", automargin: true },
        yaxis: {
          autorange: "reversed",
          tickmode: "array",
          tickvals: positions,
          ticktext: rows.map((r) => r.label),
          automargin: true,
          tickfont: { family: "ui-monospace, SFMono-Regular, Menlo, monospace", size: 11 },
        },
      }),
      CONFIG,
    );
  }

  function renderDistribution(data) {
    const rows = data.consumers.map((c) => ({
      label: `#${c.rank} ${shortId(c.consumer_id)}`,
      count: c.query_count,
      share: c.share,
      hover: [c.consumer_id, percent(c.share), c.rank],
    }));
    if (data.other.consumers > 0) {
      const many = data.other.consumers === 1 ? "consumer" : "consumers";
      rows.push({
        label: `other (${data.other.consumers})`,
        count: data.other.query_count,
        share: data.other.share,
        other: true,
        hover: [`${data.other.consumers} other ${many}`, percent(data.other.share), "-"],
      });
    }
    const consumers = data.consumers.length + data.other.consumers;
    byId("summary-distribution").textContent =
      `${number.format(data.total_queries)} queries by ${consumers} consumers` +
      (data.other.consumers > 0 ? ` (top ${data.consumers.length} and the rest)` : "");
    if (rows.length === 0) {
      purge("distribution");
      showMessage("distribution", `No queries between ${data.start} and ${data.end}.`);
      setState("distribution", "empty");
      return;
    }
    horizontalBars(
      "distribution",
      rows,
      COLORS.consumer,
      "%{customdata[0]}<br>rank %{customdata[2]}<br><b>%{x:,} queries</b> " +
        "(%{customdata[1]})<extra></extra>",
    );
    showMessage("distribution", "");
    setState("distribution", "ready");
  }

  function renderAssets(data) {
    const rows = data.assets.map((a) => ({
      label: `#${a.rank} ${shortId(a.tech_asset_id)}`,
      count: a.query_count,
      share: a.share_of_port_queries,
      hover: [a.tech_asset_id, percent(a.share_of_port_queries), a.consumers],
    }));
    byId("summary-assets").textContent =
      `Touches by the port's ${number.format(data.total_queries)} queries; ` +
      "a query touching two assets counts for both.";
    const table = byId("table-assets");
    const body = table.tBodies[0];
    body.replaceChildren(
      ...data.assets.map((a) => {
        const row = document.createElement("tr");
        row.dataset.assetId = a.tech_asset_id;
        const cells = [
          [`${a.rank}`, ""],
          [a.tech_asset_id, "id"],
          [number.format(a.query_count), "num"],
          [number.format(a.consumers), "num"],
          [percent(a.share_of_port_queries), "num"],
        ];
        for (const [text, className] of cells) {
          const cell = document.createElement("td");
          cell.textContent = text;
          if (className) cell.className = className;
          row.append(cell);
        }
        return row;
      }),
    );
    if (rows.length === 0) {
      purge("assets");
      showMessage("assets", `No asset touches between ${data.start} and ${data.end}.`);
      setState("assets", "empty");
      return;
    }
    table.hidden = false;
    horizontalBars(
      "assets",
      rows,
      COLORS.asset,
      "%{customdata[0]}<br><b>%{x:,} touches</b> (%{customdata[1]} of the port's queries)" +
        "<br>%{customdata[2]} consumers<extra></extra>",
    );
    showMessage("assets", "");
    setState("assets", "ready");
  }

  // -- wiring --------------------------------------------------------------------------

  function start() {
    if (!window.Plotly) {
      showError("plotly.js did not load from /ui/static/plotly.min.js; the charts cannot be drawn.");
      return;
    }
    const today = new Date().toISOString().slice(0, 10);
    byId("start").max = today;
    byId("end").max = today;

    byId("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = byId("api-key").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      byId("api-key").value = "";
      loadAll();
    });
    byId("forget-key").addEventListener("click", () => askForKey(null));
    byId("window-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadAll();
    });
    byId("default-window").addEventListener("click", () => {
      defaultWindow = true;
      loadAll();
    });
    for (const input of [byId("start"), byId("end")]) {
      input.addEventListener("input", () => {
        defaultWindow = false;
      });
    }
    for (const button of document.querySelectorAll(".segmented [data-granularity]")) {
      button.addEventListener("click", () => {
        granularity = button.dataset.granularity;
        for (const other of document.querySelectorAll(".segmented [data-granularity]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        hideError();
        loadQueries();
      });
    }

    if (storedKey()) loadAll();
    else askForKey(null);
  }

  start();
})();
