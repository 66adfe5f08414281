/* Model page: volume, quality, drift heat map, performance, latency, business rates. */
"use strict";
(function () {
  const D = window.driftline;
  const d = D.data;
  const base = "/api/v1/views/projects/" + encodeURIComponent(d.project) + "/models/" + encodeURIComponent(d.model);
  const params = { version: d.version, start: d.start, end: d.end, window_seconds: d.window_seconds };

  const estimated = D.getJSON(base + "/estimated" + D.qs(params)).then((e) => e.estimated).catch(() => ({}));
  D.getJSON(base + "/series" + D.qs(params)).then((s) => {
    D.lines("chart-volume", [[{ type: "bar", marker: { color: D.palette[0] } }, s.volume]], { layout: { showlegend: false, bargap: 0.05 } });
    D.lines("chart-quality", [[{}, s.quality]], { layout: { yaxis: { tickformat: ".1%", rangemode: "tozero", gridcolor: D.cssVar("--line") } } });
    estimated.then((est) => D.lines("chart-performance", [[{}, s.performance], [{ line: { dash: "dash", width: 2, color: D.cssVar("--text") } }, est], [{ yaxis: "y2", line: { dash: "dot", width: 1.2 }, fill: "tozeroy", fillcolor: "rgba(138,148,163,0.10)" }, s.labels]], {
      emptyText: "No labels joined and no scores in this range",
      layout: { yaxis2: { overlaying: "y", side: "right", tickformat: ".0%", range: [0, 1.05], showgrid: false, title: { text: "coverage" } }, margin: { l: 48, r: 56, t: 8, b: 36 } },
    }));
    D.lines("chart-latency", [[{}, s.latency], [{ yaxis: "y2", line: { dash: "dot", width: 1.4 } }, s.errors]], {
      layout: { yaxis: { title: { text: "ms" }, rangemode: "tozero", gridcolor: D.cssVar("--line") }, yaxis2: { overlaying: "y", side: "right", tickformat: ".1%", rangemode: "tozero", showgrid: false }, margin: { l: 56, r: 56, t: 8, b: 36 } },
    });
    D.lines("chart-business", [[{}, s.business]], { emptyText: "No business events in this range", layout: { yaxis: { tickformat: ".1%", rangemode: "tozero", gridcolor: D.cssVar("--line") } } });
  }).catch((err) => ["chart-volume", "chart-quality", "chart-performance", "chart-latency", "chart-business"].forEach((id) => D.fail(id, err)));

  D.getJSON(base + "/heatmap" + D.qs(params)).then((h) => {
    const el = document.getElementById("chart-heatmap");
    const list = document.getElementById("feature-list");
    list.replaceChildren();
    list.classList.remove("muted");
    h.columns.forEach((c, i) => {
      const a = D.el("a", { href: base.replace("/api/v1/views", "") + "/features/" + encodeURIComponent(c) + window.location.search }, [c]);
      a.append(D.el("span", { class: "sev", text: D.fmt(h.severity[i]) }));
      list.append(a);
    });
    if (!h.columns.length) list.textContent = "No features profiled yet.";
    if (!h.x.length) { D.empty(el, "No drift computed in this range (is there a reference?)"); return; }
    const shown = Math.min(h.columns.length, 50);
    const height = Math.max(260, Math.min(900, 60 + shown * 18));
    el.style.height = height + "px";
    Plotly.newPlot(el, [{
      type: "heatmap", x: h.x, y: h.columns.slice(0, shown), z: h.z.slice(0, shown), zmin: 0, zmax: Math.max(0.3, ...h.severity.filter((x) => x !== null)),
      colorscale: [[0, "#e8f1fb"], [0.25, "#9ecae1"], [0.5, "#fdae61"], [1, "#b2182b"]], hoverongaps: false,
      colorbar: { title: { text: "JS" }, thickness: 12 },
      hovertemplate: "%{y}<br>%{x}<br>drift %{z:.3f}<extra></extra>",
    }], D.layout({ showlegend: false, hovermode: "closest", xaxis: { type: "date", gridcolor: D.cssVar("--line") }, yaxis: { autorange: "reversed", automargin: true, gridcolor: D.cssVar("--line") }, margin: { l: 8, r: 8, t: 8, b: 36 } }), D.config);
    el.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (!p) return;
      const url = base.replace("/api/v1/views", "") + "/features/" + encodeURIComponent(p.y);
      window.location.href = url + window.location.search;
    });
  }).catch((err) => D.fail("chart-heatmap", err));
})();
