/* Feature page: reference vs window distribution, statistics and drift over time. */
"use strict";
(function () {
  const D = window.driftline;
  const d = D.data;
  const base = "/api/v1/views/projects/" + encodeURIComponent(d.project) + "/models/" + encodeURIComponent(d.model) + "/features/" + encodeURIComponent(d.feature);
  const params = { version: d.version, start: d.start, end: d.end, window_seconds: d.window_seconds };

  function bars(dist, name, color) {
    if (!dist) return null;
    if (dist.kind === "numerical") {
      const x = [], w = [], y = [];
      for (let i = 0; i + 1 < dist.edges.length; i++) {
        const lo = dist.edges[i], hi = dist.edges[i + 1];
        if (lo === null || hi === null || hi <= lo) continue;
        x.push((lo + hi) / 2);
        w.push(hi - lo);
        y.push(dist.shares[i] / (hi - lo));  // density: bins differ in width
      }
      return { type: "bar", name, x, y, width: w, marker: { color, opacity: 0.55 }, hovertemplate: "%{x:.3g}: density %{y:.3g}<extra>" + name + "</extra>" };
    }
    return { type: "bar", name, x: Object.keys(dist.shares), y: Object.values(dist.shares), marker: { color, opacity: 0.75 } };
  }

  function distribution(f) {
    const el = document.getElementById("chart-distribution");
    const traces = [bars(f.reference, "reference", "#8a94a3"), bars(f.current, "window", D.palette[0])].filter(Boolean);
    document.getElementById("window-label").textContent = f.window_start ? D.time(f.window_start) + " UTC" : "";
    const reason = document.getElementById("drift-reason");
    reason.textContent = f.drift ? (f.drift.reason || (f.drift.method + " " + D.fmt(f.drift.statistic))) : "";
    const table = document.getElementById("quality");
    const rate = (n, total) => (n === null || n === undefined ? "–" : D.fmt(n) + (total && n ? " (" + (100 * n / total).toFixed(1) + "%)" : ""));
    const rows = (f.quality || []);
    const totals = rows.length && rows[0].issue === "rows" ? rows[0] : {};
    table.replaceChildren(D.el("thead", {}, [D.el("tr", {}, ["", "Reference", "Window"].map((h) => D.el("th", { text: h })))]),
      D.el("tbody", {}, rows.map((r) => D.el("tr", {}, [D.el("td", { text: r.issue }),
        D.el("td", { class: "r", text: r.issue === "rows" ? D.fmt(r.reference) : rate(r.reference, totals.reference) }),
        D.el("td", { class: "r", text: r.issue === "rows" ? D.fmt(r.window) : rate(r.window, totals.window) })]))));
    if (!traces.length) { D.empty(el, "No distribution to show"); return; }
    const numeric = f.kind === "numerical";
    const yaxis = numeric ? { title: { text: "density" }, gridcolor: D.cssVar("--line"), rangemode: "tozero" } : { tickformat: ".0%", gridcolor: D.cssVar("--line"), rangemode: "tozero" };
    Plotly.react(el, traces, D.layout({ barmode: "overlay", hovermode: "closest", yaxis, xaxis: { type: numeric ? "linear" : "category", gridcolor: D.cssVar("--line") } }), D.config);
  }

  function load(window_) {
    return D.getJSON(base + D.qs(Object.assign({}, params, { window: window_ }))).then((f) => {
      distribution(f);
      return f;
    });
  }

  load(null).then((f) => {
    const s = f.series;
    const numeric = f.kind === "numerical";
    if (numeric) {
      const band = [];
      if (s.mean && s.std && s.mean.x.length === s.std.x.length) {
        band.push([{ line: { width: 0 }, showlegend: false, hoverinfo: "skip" }, { "mean − std": { x: s.mean.x, y: s.mean.y.map((m, i) => (m === null || s.std.y[i] === null ? null : m - s.std.y[i])) } }]);
        band.push([{ line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(58,109,240,0.12)", name: "± std", hoverinfo: "skip" }, { "mean + std": { x: s.mean.x, y: s.mean.y.map((m, i) => (m === null || s.std.y[i] === null ? null : m + s.std.y[i])) } }]);
      }
      D.lines("chart-stats", band.concat([[{ line: { color: D.palette[0], width: 2 } }, { mean: s.mean }], [{ line: { dash: "dot", width: 1 } }, { min: s.min, max: s.max }]]), { layout: { yaxis: { rangemode: "normal", gridcolor: D.cssVar("--line") } } });
    } else {
      D.lines("chart-stats", [[{}, { "missing rate": s["missing rate"] }]], {});
    }
    D.lines("chart-drift", [[{ mode: "lines+markers", marker: { size: 4 } }, { drift: s.drift || { x: [], y: [] } }]], { emptyText: "No drift computed (is there a reference?)", layout: { showlegend: false, hovermode: "closest" } });
    D.lines("chart-missing", [[{}, { "missing rate": s["missing rate"] }]], { layout: { showlegend: false, yaxis: { tickformat: ".1%", rangemode: "tozero", gridcolor: D.cssVar("--line") } } });
    const chart = document.getElementById("chart-drift");
    if (chart.on) {
      chart.on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        if (p) load(new Date(p.x).getTime() / 1000).catch((err) => D.fail("chart-distribution", err));
      });
    }
  }).catch((err) => ["chart-distribution", "chart-stats", "chart-drift", "chart-missing"].forEach((id) => D.fail(id, err)));
})();
