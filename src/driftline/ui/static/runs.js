/* Run and compare pages: metric curves by step, detector events and guard actions marked. */
"use strict";
(function () {
  const D = window.driftline;
  const d = D.data;
  const holder = document.getElementById("curves");
  const MAX_CHARTS = 8;

  function colour(kind) {
    if (kind.startsWith("checkpoint")) return D.cssVar("--ok");
    if (kind.startsWith("guard")) return D.cssVar("--warn");
    return D.cssVar("--bad");
  }

  /* Vertical lines at each event's step, and a marker on the curve with the event's message. */
  function markers(s) {
    const shapes = [], x = [], y = [], text = [], colours = [];
    for (const e of d.events || []) {
      const c = colour(e.kind);
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1, line: { color: c, width: 1, dash: "dot" } });
      let best = 0;
      for (let i = 0; i < s.steps.length; i++) if (Math.abs(s.steps[i] - e.step) < Math.abs(s.steps[best] - e.step)) best = i;
      x.push(e.step); y.push(s.values[best]); text.push(e.kind + ": " + e.message); colours.push(c);
    }
    const trace = { type: "scatter", mode: "markers", name: "events", x, y, text, hovertemplate: "step %{x}<br>%{text}<extra></extra>", marker: { color: colours, size: 9, symbol: "diamond", line: { color: D.cssVar("--panel"), width: 1 } } };
    return { shapes, trace };
  }

  function chart(key) {
    const card = D.el("section", { class: "card" }, [D.el("h3", { text: key })]);
    const div = D.el("div", { class: "chart" });
    card.append(div);
    holder.append(card);
    const runs = d.runs || [];
    Promise.all(runs.map((r) => D.getJSON("/api/v1/runs/" + encodeURIComponent(r.run_id) + "/metrics" + D.qs({ key, max_points: 800 })).catch(() => null)))
      .then((series) => {
        const traces = [];
        series.forEach((s, i) => {
          if (!s) return;
          traces.push({ type: "scatter", mode: s.steps.length > 60 ? "lines" : "lines+markers", name: runs[i].name, x: s.steps, y: s.values, line: { width: 1.6 } });
        });
        if (!traces.length) { D.empty(div, "No points"); return; }
        const lay = D.layout({
          hovermode: "closest", showlegend: runs.length > 1, margin: { l: 48, r: 16, t: 28, b: 40 },
          legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
          xaxis: { title: { text: "step", standoff: 4 }, gridcolor: D.cssVar("--line") }, yaxis: { rangemode: "normal", gridcolor: D.cssVar("--line") },
        });
        if (!d.compare && series[0] && (d.events || []).length) {
          const m = markers(series[0]);
          lay.shapes = m.shapes;
          traces.push(m.trace);
        }
        Plotly.newPlot(div, traces, lay, D.config);
      })
      .catch((err) => D.fail(div.id, err));
  }

  /* A running run can be stopped by an editor: its guard stops it at the next step. */
  const actions = document.getElementById("run-actions");
  if (actions && D.canEdit(actions.dataset.project || "")) {
    actions.hidden = false;
    document.getElementById("stop-run").addEventListener("click", () => {
      const reason = document.getElementById("stop-reason").value.trim();
      D.send("POST", "/api/v1/runs/" + encodeURIComponent(actions.dataset.run) + "/stop", reason ? { reason } : {})
        .then(() => window.location.reload())
        .catch((err) => {
          const box = document.getElementById("run-error");
          box.textContent = String((err && err.message) || err);
          box.hidden = false;
        });
    });
  }

  if (holder) {
    const keys = (d.keys || []).slice(0, MAX_CHARTS);
    if (d.compare) holder.className = "";
    if (!keys.length) holder.append(D.el("p", { class: "muted", text: "No metrics logged." }));
    keys.forEach(chart);
  }
})();
