/* Alerts and alert pages: lists, evidence, acknowledge / resolve / silence, monitors. */
"use strict";
(function () {
  const D = window.driftline;
  const d = D.data;
  const page = document.body.dataset.page;

  function showError(id, err) {
    const el = document.getElementById(id);
    if (!el) return;
    el.hidden = false;
    el.textContent = err.message || String(err);
  }

  function act(fp, action) {
    return D.send("POST", "/api/v1/alerts/" + encodeURIComponent(fp) + "/" + action, {});
  }

  function alertTable(alerts, withActions) {
    if (!alerts.length) return D.el("p", { class: "muted", text: "None." });
    const head = D.el("tr", {}, ["State", "Alert", "Project / model", "Reason", "Since (UTC)", ""].map((h) => D.el("th", { text: h })));
    const body = D.el("tbody");
    for (const a of alerts) {
      const labels = a.labels || {};
      const name = labels.alertname || labels.monitor || a.fingerprint.slice(0, 10);
      const link = D.el("a", { href: "/alerts/" + encodeURIComponent(a.fingerprint), text: name });
      const cell = D.el("td");
      if (withActions && D.canEdit(labels.project || "") && a.state !== "acknowledged") {
        const b = D.el("button", { type: "button", class: "ack", text: "Acknowledge", dataset: { fp: a.fingerprint } });
        b.addEventListener("click", () => act(a.fingerprint, "acknowledge").then(() => window.location.reload()).catch((err) => showError("alerts-error", err)));
        cell.append(b);
      }
      body.append(D.el("tr", { dataset: { fp: a.fingerprint } }, [
        D.el("td", {}, [D.el("span", { class: "badge " + a.state, text: a.state })]),
        D.el("td", {}, [link]),
        D.el("td", { text: (labels.project || "") + (labels.model ? " / " + labels.model : "") }),
        D.el("td", { class: "muted", text: a.reason || (a.annotations || {}).summary || "" }),
        D.el("td", { text: D.time(a.fired_at || a.started_at) }),
        cell,
      ]));
    }
    return D.el("table", { class: "grid" }, [D.el("thead", {}, [head]), body]);
  }

  function listPage() {
    const q = D.qs({ project: d.project, state: d.state });
    D.getJSON("/api/v1/alerts" + q).then((alerts) => {
      const open = alerts.filter((a) => a.state !== "resolved");
      const past = alerts.filter((a) => a.state === "resolved");
      document.getElementById("open-alerts").replaceChildren(alertTable(open, true));
      document.getElementById("past-alerts").replaceChildren(alertTable(past, false));
      document.getElementById("open-alerts").classList.remove("muted");
      document.getElementById("past-alerts").classList.remove("muted");
    }).catch((err) => {
      document.getElementById("open-alerts").textContent = "Could not load alerts: " + err.message;
      document.getElementById("past-alerts").textContent = "";
    });
    D.getJSON("/api/v1/silences?active=true").then((silences) => {
      const el = document.getElementById("silences");
      el.classList.remove("muted");
      if (!silences.length) { el.replaceChildren(D.el("p", { class: "muted", text: "No active silence." })); return; }
      const rows = silences.map((s) => D.el("tr", {}, [
        D.el("td", { class: "kv" }, s.matchers.map((m) => D.el("span", { text: m }))),
        D.el("td", { text: D.time(s.starts_at) + " → " + D.time(s.ends_at) }),
        D.el("td", { text: s.created_by }), D.el("td", { class: "muted", text: s.comment }),
      ]));
      el.replaceChildren(D.el("table", { class: "grid compact" }, [D.el("tbody", {}, rows)]));
    }).catch((err) => { document.getElementById("silences").textContent = "Could not load silences: " + err.message; });
    monitors();
  }

  function monitors() {
    const form = document.getElementById("monitor-form");
    const editor = d.role === "editor" || d.role === "admin";
    const newBtn = document.getElementById("new-monitor");
    if (editor) newBtn.hidden = false;
    newBtn.addEventListener("click", () => { form.hidden = false; form.elements.name.readOnly = false; form.elements.name.value = ""; form.elements.spec.value = ""; });
    document.getElementById("monitor-cancel").addEventListener("click", () => { form.hidden = true; });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = form.elements.name.value.trim();
      const text = form.elements.spec.value.trim();
      const type = text.startsWith("{") ? "application/json" : "application/yaml";
      D.send("PUT", "/api/v1/monitors/" + encodeURIComponent(name), text, type)
        .then(() => window.location.reload())
        .catch((err) => showError("monitor-error", err));
    });
    D.getJSON("/api/v1/monitors" + D.qs({ project: d.project })).then((items) => {
      const el = document.getElementById("monitors");
      el.classList.remove("muted");
      if (!items.length) { el.replaceChildren(D.el("p", { class: "muted", text: "No monitors." })); return; }
      const rows = items.map((m) => {
        const cell = D.el("td");
        if (D.canEdit(m.project || "")) {
          const b = D.el("button", { type: "button", class: "edit-monitor", text: "Edit" });
          b.addEventListener("click", () => {
            form.hidden = false;
            form.elements.name.value = m.name;
            form.elements.name.readOnly = true;
            form.elements.spec.value = JSON.stringify(m.spec || m, null, 2);
            form.scrollIntoView({ behavior: "smooth" });
          });
          cell.append(b);
        }
        return D.el("tr", {}, [
          D.el("td", { text: m.name }),
          D.el("td", { text: (m.project || "") + (m.model ? " / " + m.model : "") }),
          D.el("td", { text: ((m.spec || {}).signal || {}).kind || "" }),
          D.el("td", { class: "muted", text: (m.last_result || {}).reason || "" }),
          cell,
        ]);
      });
      const head = D.el("tr", {}, ["Monitor", "Project / model", "Signal", "Last evaluation", ""].map((h) => D.el("th", { text: h })));
      el.replaceChildren(D.el("table", { class: "grid compact monitors" }, [D.el("thead", {}, [head]), D.el("tbody", {}, rows)]));
    }).catch((err) => { document.getElementById("monitors").textContent = "Could not load monitors: " + err.message; });
  }

  function evidence(points, threshold) {
    const el = document.getElementById("chart-evidence");
    const pts = (points || []).filter((p) => p.value !== null && p.value !== undefined);
    if (!pts.length) { D.empty(el, "No evaluations recorded"); return; }
    const x = pts.map((p) => (p.window_end || p.at) * 1000);
    const firing = pts.filter((p) => p.firing);
    const traces = [
      { type: "scatter", mode: "lines+markers", name: "value", x, y: pts.map((p) => p.value), text: pts.map((p) => p.reason), hovertemplate: "%{y:.4g}<br>%{text}<extra></extra>", marker: { size: 4 } },
      { type: "scatter", mode: "markers", name: "firing", x: firing.map((p) => (p.window_end || p.at) * 1000), y: firing.map((p) => p.value), marker: { color: D.cssVar("--bad"), size: 8 } },
    ];
    const th = pts.map((p) => p.threshold).filter((t) => t !== null && t !== undefined);
    if (th.length) traces.push({ type: "scatter", mode: "lines", name: "threshold", x, y: pts.map((p) => p.threshold), line: { dash: "dash", color: D.cssVar("--warn"), width: 1.2 } });
    const xaxis = { type: "date", gridcolor: D.cssVar("--line") };
    if (pts.length < 3) {  // a lone point: show the hours around it, not milliseconds
      xaxis.range = [Math.min(...x) - 6 * 3600e3, Math.max(...x) + 3600e3];
    }
    Plotly.newPlot(el, traces, D.layout({ xaxis, yaxis: { rangemode: "normal", gridcolor: D.cssVar("--line") } }), D.config);
  }

  function detailPage() {
    const fp = d.fingerprint;
    D.getJSON("/api/v1/alerts/" + encodeURIComponent(fp)).then((detail) => {
      const a = detail.alert || detail;
      const labels = a.labels || {};
      const title = document.getElementById("alert-title");
      title.replaceChildren(D.el("span", { text: labels.alertname || labels.monitor || "Alert" }), D.el("span", { class: "badge " + a.state, text: a.state }));
      document.getElementById("alert-reason").textContent = a.reason || "";
      const lt = document.getElementById("alert-labels");
      lt.replaceChildren(...Object.entries(labels).map(([k, v]) => D.el("tr", {}, [D.el("td", { text: k }), D.el("td", { text: v })])));
      const hist = detail.history || detail.events || [];
      const ht = document.getElementById("alert-history");
      ht.replaceChildren(...(hist.length ? hist.map((h) => D.el("tr", {}, [D.el("td", { text: D.time(h.at || h.time) }), D.el("td", { text: (h.from_state ? h.from_state + " → " : "") + (h.to_state || h.state || h.event || "") }), D.el("td", { class: "muted", text: h.reason || h.by || "" })])) : [D.el("tr", {}, [D.el("td", { class: "muted", text: "No transitions recorded." })])]));
      evidence(detail.evidence || detail.results || [], null);
      if (D.canEdit(labels.project || "") && a.state !== "resolved") {
        const box = document.getElementById("alert-actions");
        box.hidden = false;
        box.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => {
          const action = b.dataset.action;
          let p;
          if (action === "silence") {
            const matchers = Object.entries(labels).map(([k, v]) => k + "=" + JSON.stringify(v));
            p = D.send("POST", "/api/v1/silences", { matchers, duration_s: Number(document.getElementById("silence-for").value), comment: document.getElementById("silence-comment").value });
          } else {
            p = act(fp, action);
          }
          p.then(() => window.location.reload()).catch((err) => showError("alert-error", err));
        }));
      }
    }).catch((err) => { showError("alert-error", err); D.fail("chart-evidence", err); });
  }

  if (page === "alerts") listPage();
  if (page === "alert") detailPage();
})();
