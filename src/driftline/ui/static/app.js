/* driftline dashboard: helpers shared by the page scripts (no inline scripts anywhere). */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent || "{}");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const palette = ["#3a6df0", "#e4572e", "#17a398", "#f2a541", "#8f5fd7", "#2e86ab", "#c33c54", "#6a994e"];

  function qs(params) {
    const out = new URLSearchParams();
    for (const [k, val] of Object.entries(params)) {
      if (val !== null && val !== undefined && val !== "") out.append(k, String(val));
    }
    const s = out.toString();
    return s ? "?" + s : "";
  }

  async function getJSON(url) {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) {
      let msg = resp.status + " " + resp.statusText;
      try { msg = (await resp.json()).message || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return resp.json();
  }

  async function send(method, url, body, contentType) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const resp = await fetch(url, { method, credentials: "same-origin", headers, body: payload });
    if (!resp.ok) {
      let msg = resp.status + " " + resp.statusText;
      try { msg = (await resp.json()).message || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return resp.status === 204 ? null : resp.json();
  }

  function layout(extra) {
    const base = {
      margin: { l: 48, r: 16, t: 8, b: 36 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: v("--text"), size: 12, family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif" },
      colorway: palette,
      xaxis: { gridcolor: v("--line"), zeroline: false, linecolor: v("--line") },
      yaxis: { gridcolor: v("--line"), zeroline: false, linecolor: v("--line"), rangemode: "tozero" },
      legend: { orientation: "h", y: -0.18, x: 0 },
      hovermode: "x unified",
      showlegend: true,
    };
    return Object.assign(base, extra || {});
  }

  const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function empty(el, text) {
    el.replaceChildren();
    const div = document.createElement("div");
    div.className = "empty-chart";
    div.textContent = text;
    el.appendChild(div);
  }

  /* Lines from {name: {x, y}}; x in epoch ms (date axis) unless opts.numeric. */
  function lines(id, groups, opts) {
    const el = document.getElementById(id);
    if (!el) return;
    opts = opts || {};
    const traces = [];
    for (const [group, series] of groups) {
      for (const [name, s] of Object.entries(series || {})) {
        if (!s.x.length) continue;
        traces.push(Object.assign({
          type: "scatter", mode: s.x.length > 60 ? "lines" : "lines+markers", name, x: s.x, y: s.y,
          line: { width: 1.6 }, connectgaps: false,
        }, group || {}));
      }
    }
    if (!traces.length) { empty(el, opts.emptyText || "No data in this range"); return; }
    const lay = layout(opts.layout);
    if (!opts.numeric) lay.xaxis = Object.assign(lay.xaxis, { type: "date" });
    Plotly.newPlot(el, traces, lay, config);
  }

  function fail(id, err) {
    const el = document.getElementById(id);
    if (el) empty(el, "Could not load: " + err.message);
  }

  function fmt(x) {
    if (x === null || x === undefined) return "–";
    if (Number.isInteger(x)) return x.toLocaleString();
    return Number(x).toPrecision(3);
  }

  function time(ts) {
    if (ts === null || ts === undefined) return "–";
    return new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ");
  }

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, val] of Object.entries(props || {})) {
      if (k === "text") node.textContent = val;
      else if (k === "class") node.className = val;
      else if (k === "dataset") Object.assign(node.dataset, val);
      else node.setAttribute(k, val);
    }
    for (const c of children || []) node.append(c);
    return node;
  }

  function canEdit(project) {
    const role = data.role || "";
    const scope = data.scope || "";
    return (role === "editor" || role === "admin") && (scope === "*" || scope === project);
  }

  window.driftline = { data, csrf, qs, getJSON, send, layout, config, lines, fail, empty, fmt, time, el, canEdit, palette, cssVar: v };
})();
