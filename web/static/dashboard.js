// Keiko's join page and staff pages (workshops, the live grid). Plain JS,
// no libraries. Strings come from the page's T. Learner names and workshop
// titles are untrusted: they only ever reach the page as textContent.
(function () {
  "use strict";

  const lang = document.documentElement.lang || "en";
  const strings = typeof T === "object" && T ? T : {};

  // t is the page string key, with {name} placeholders filled from vars.
  function t(key, vars) {
    let s = strings[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  }

  // el makes an element. props sets class, text (as textContent) and
  // attributes; children are appended in order.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // api calls Keiko's JSON API. It resolves to {ok, status, data}, and
  // rejects only when the server cannot be reached.
  async function api(method, url, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch { data = null; }
    }
    return { ok: res.ok, status: res.status, data };
  }

  // errorText is the message of an API error, {"error":{"code","message"}}.
  function errorText(data) {
    return (data && data.error && data.error.message) || t("failed");
  }

  // show puts a message in an alert box (its [data-message]) and shows it;
  // an empty message hides the box.
  function show(box, message) {
    if (!box) return;
    const slot = box.querySelector("[data-message]") || box;
    slot.textContent = message || "";
    box.hidden = !message;
  }

  const dateFmt = new Intl.DateTimeFormat(lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const timeFmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  const clockFmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  // span is a workshop's time window, with the date once when both ends
  // fall on the same day.
  function span(opens, closes) {
    const a = new Date(opens), b = new Date(closes);
    const sameDay = a.toDateString() === b.toDateString();
    return `${dateFmt.format(a)} – ${sameDay ? timeFmt.format(b) : dateFmt.format(b)}`;
  }

  // stateOf is a workshop's state pill: open, not open yet, or closed.
  function stateOf(w) {
    if (w.open) return { cls: "ready", text: t("wsOpen") };
    if (new Date(w.opens) > new Date()) return { cls: "starting", text: t("wsScheduled", { time: dateFmt.format(new Date(w.opens)) }) };
    return { cls: "closed", text: t("wsClosed") };
  }

  function pill(state) {
    return el("span", { class: `state ${state.cls}` }, el("span", { class: "dot", "aria-hidden": "true" }), state.text);
  }

  // --- The join page -------------------------------------------------

  function initJoin() {
    const form = document.getElementById("join-form");
    const alertBox = document.getElementById("join-alert");
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const code = form.elements.code.value.trim().toUpperCase();
      if (!code) {
        show(alertBox, t("joinNeedCode"));
        form.elements.code.focus();
        return;
      }
      show(alertBox, "");
      button.disabled = true;
      button.textContent = t("joinJoining");
      try {
        const res = await api("POST", "/api/join", { code, displayName: form.elements.displayName.value.trim() });
        if (res.ok) {
          button.textContent = t("joinedWelcome");
          location.assign("/");
          return;
        }
        show(alertBox, errorText(res.data));
      } catch {
        show(alertBox, t("networkError"));
      }
      button.disabled = false;
      button.textContent = t("joinSubmit");
    });
  }

  // --- The instructor's workshops ------------------------------------

  // localInput is a Date as a datetime-local input's value.
  function localInput(d) {
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function initInstructor() {
    const form = document.getElementById("ws-form");
    // The server's defaults are in the server's time zone; the
    // instructor's browser knows theirs.
    const now = new Date();
    form.elements.opens.value = localInput(now);
    form.elements.closes.value = localInput(new Date(now.getTime() + 3 * 3600 * 1000));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      createWorkshop(form);
    });
    loadWorkshops();
  }

  async function loadWorkshops() {
    const list = document.getElementById("ws-list");
    const status = document.getElementById("ws-status");
    const alertBox = document.getElementById("ws-alert");
    try {
      const res = await api("GET", "/api/workshops");
      if (!res.ok) {
        show(alertBox, errorText(res.data));
        status.hidden = true;
        return;
      }
      show(alertBox, "");
      const workshops = res.data || [];
      workshops.sort(byWhen);
      list.replaceChildren(...workshops.map(workshopCard));
      status.textContent = t("wsEmpty");
      status.hidden = workshops.length > 0;
    } catch {
      show(alertBox, t("networkError"));
      status.hidden = true;
    }
  }

  // byWhen lists open workshops first, then those to come, soonest
  // first, then those past, latest first.
  function byWhen(a, b) {
    const rank = (w) => (w.open ? 0 : new Date(w.opens) > new Date() ? 1 : 2);
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
    const d = new Date(a.opens) - new Date(b.opens);
    return rank(a) === 2 ? -d : d;
  }

  function workshopCard(w) {
    const url = location.origin + w.joinURL;
    const copy = el("button", { type: "button", class: "btn ghost small" }, t("wsCopy"));
    copy.addEventListener("click", () => copyText(url, copy));
    const del = el("button", { type: "button", class: "btn danger small" }, t("wsDelete"));
    del.addEventListener("click", () => deleteWorkshop(w, del));
    const meta = [
      (w.scenarios || []).length === 1 ? t("wsScenarios1") : t("wsScenarios", { n: (w.scenarios || []).length }),
      w.capacity > 0 ? t("wsCapacity", { n: w.capacity }) : t("wsUnlimited"),
    ];
    if (w.owner) meta.push(t("wsOwner", { name: w.owner }));
    const grid = `/instructor/workshops/${encodeURIComponent(w.id)}`;
    return el("li", { class: `ws-card${w.open ? " is-open" : ""}` },
      el("div", { class: "ws-head" },
        el("h3", { class: "ws-title" }, el("a", { href: grid, text: w.title || w.code })),
        pill(stateOf(w))),
      el("p", { class: "ws-when", text: span(w.opens, w.closes) }),
      el("div", { class: "ws-code" },
        el("span", { class: "ws-code-label", text: t("wsCode") }),
        el("span", { class: "ws-code-value", text: w.code })),
      el("p", { class: "ws-url" }, el("code", { text: url }), copy),
      el("p", { class: "meta", text: meta.join(" · ") }),
      el("div", { class: "ws-actions" },
        el("a", { class: "btn primary small", href: grid, text: `${t("wsLive")} →` }),
        del));
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t("wsCopied");
      setTimeout(() => { button.textContent = t("wsCopy"); }, 2000);
    } catch {
      // Without a secure context there is no clipboard: select the text
      // so the instructor can copy it by hand.
      const code = button.parentElement.querySelector("code");
      getSelection().selectAllChildren(code);
    }
  }

  async function deleteWorkshop(w, button) {
    if (!confirm(t("wsConfirmDelete", { title: w.title || w.code }))) return;
    button.disabled = true;
    button.textContent = t("wsDeleting");
    try {
      const res = await api("DELETE", `/api/workshops/${encodeURIComponent(w.id)}`);
      if (!res.ok) show(document.getElementById("ws-alert"), errorText(res.data));
    } catch {
      show(document.getElementById("ws-alert"), t("networkError"));
    }
    loadWorkshops();
  }

  async function createWorkshop(form) {
    const alertBox = document.getElementById("new-alert");
    const done = document.getElementById("new-done");
    const button = form.querySelector("button[type=submit]");
    show(done, "");
    const f = form.elements;
    const scenarios = [...form.querySelectorAll("input[name=scenarios]:checked")].map((c) => c.value);
    if (!f.title.value.trim()) {
      show(alertBox, t("fNeedTitle"));
      f.title.focus();
      return;
    }
    if (scenarios.length === 0) {
      show(alertBox, t("fPickOne"));
      form.querySelector("input[name=scenarios]")?.focus();
      return;
    }
    const opens = new Date(f.opens.value), closes = new Date(f.closes.value);
    if (isNaN(opens) || isNaN(closes)) {
      show(alertBox, t("fWindowHint"));
      return;
    }
    show(alertBox, "");
    button.disabled = true;
    button.textContent = t("fCreating");
    try {
      const res = await api("POST", "/api/workshops", {
        title: f.title.value.trim(),
        code: f.code.value.trim().toUpperCase(),
        scenarios,
        capacity: Math.max(0, parseInt(f.capacity.value, 10) || 0),
        opens: opens.toISOString(),
        closes: closes.toISOString(),
      });
      if (res.ok) {
        show(done, t("fCreated", { title: res.data.title, code: res.data.code }));
        f.title.value = "";
        f.code.value = "";
        await loadWorkshops();
        document.getElementById("ws-list").scrollIntoView({ behavior: "smooth", block: "start" });
      } else {
        show(alertBox, errorText(res.data));
      }
    } catch {
      show(alertBox, t("networkError"));
    }
    button.disabled = false;
    button.textContent = t("fSubmit");
  }

  // --- The live grid -------------------------------------------------

  const pollEvery = 2000;

  function initGrid() {
    const page = document.getElementById("grid-page");
    const state = { api: page.dataset.api, timer: 0, stopped: false };
    const dialog = document.getElementById("bigcode");
    document.getElementById("project").addEventListener("click", () => dialog.showModal());
    document.addEventListener("visibilitychange", () => {
      clearTimeout(state.timer);
      if (document.hidden) live("paused", t("gridPaused"));
      else if (!state.stopped) poll(state);
    });
    poll(state);
  }

  function live(kind, text) {
    const box = document.getElementById("live");
    box.dataset.state = kind;
    box.querySelector("[data-message]").textContent = text;
  }

  // poll fetches the grid, draws it, and comes back in pollEvery while the
  // tab is visible. Only one poll runs at a time.
  async function poll(state) {
    clearTimeout(state.timer);
    if (document.hidden || state.stopped || state.busy) return;
    state.busy = true;
    const alertBox = document.getElementById("grid-alert");
    try {
      const res = await api("GET", state.api);
      if (res.ok) {
        show(alertBox, "");
        render(res.data);
        live("live", t("gridLive", { time: clockFmt.format(new Date()) }));
      } else if (res.status === 401 || res.status === 404) {
        // Polling cannot fix either: stop, and say what to do.
        state.stopped = true;
        show(alertBox, res.status === 401 ? t("gridSignedOut") : t("gridGone"));
        alertBox.querySelector("[data-signin]").hidden = res.status !== 401;
        live("off", errorText(res.data));
      } else {
        live("off", errorText(res.data));
      }
    } catch {
      live("off", t("gridOffline"));
    } finally {
      state.busy = false;
    }
    if (!document.hidden && !state.stopped) state.timer = setTimeout(() => poll(state), pollEvery);
  }

  function setField(name, text) {
    for (const e of document.querySelectorAll(`[data-field="${name}"]`)) e.textContent = text;
  }

  let lastRows = "";

  // render draws the whole grid from one poll's answer.
  function render(g) {
    const w = g.workshop;
    const url = location.origin + "/join";
    setField("title", w.title || w.code);
    setField("code", w.code);
    // The code's length sizes it, so it fits its box on one line.
    for (const e of document.querySelectorAll('[data-field="code"]')) e.style.setProperty("--n", String(Math.max(w.code.length, 4)));
    setField("url", url);
    setField("window", span(w.opens, w.closes));
    const st = stateOf(w);
    const box = document.querySelector('[data-field="state"]');
    box.className = `state ${st.cls}`;
    box.replaceChildren(el("span", { class: "dot", "aria-hidden": "true" }), st.text);
    box.hidden = false;
    document.title = `${w.title || w.code} — Keiko`;

    const scenarios = new Map((g.scenarios || []).map((s) => [s.id, s]));
    const rows = (g.rows || []).map((r) => ({ ...r, done: doneCount(r) }));
    rows.sort(byUrgency);
    renderCounts(rows);

    const table = document.getElementById("grid");
    const empty = document.getElementById("grid-empty");
    table.hidden = rows.length === 0;
    empty.hidden = rows.length > 0;
    // Rebuild the rows only when what they show changed, so a tooltip or
    // a focused link survives the polls in between.
    const key = JSON.stringify(rows.map((r) => [r.learner, r.scenario, r.session, r.active, r.current, r.steps, Math.floor(r.stuckForSec / 60)]));
    if (key === lastRows) return;
    lastRows = key;
    table.tBodies[0].replaceChildren(...rows.map((r) => gridRow(r, scenarios.get(r.scenario))));
  }

  function doneCount(r) {
    return (r.steps || []).filter((s) => s === "passed" || s === "skipped").length;
  }

  // byUrgency puts stuck learners first, longest stuck on top, then the
  // rest by how far they are.
  function byUrgency(a, b) {
    if ((a.stuckForSec > 0) !== (b.stuckForSec > 0)) return a.stuckForSec > 0 ? -1 : 1;
    if (a.stuckForSec !== b.stuckForSec) return b.stuckForSec - a.stuckForSec;
    const pa = a.steps.length ? a.done / a.steps.length : -1;
    const pb = b.steps.length ? b.done / b.steps.length : -1;
    if (pa !== pb) return pb - pa;
    return a.learner.localeCompare(b.learner, lang);
  }

  function renderCounts(rows) {
    const learners = (pred) => new Set(rows.filter(pred).map((r) => `${r.learner}\u0000${r.joinedAt}`)).size;
    const counts = {
      joined: learners(() => true),
      active: learners((r) => r.active),
      finished: learners((r) => r.steps.length > 0 && r.done === r.steps.length),
      stuck: learners((r) => r.stuckForSec > 0),
    };
    for (const [k, v] of Object.entries(counts)) {
      const dd = document.querySelector(`[data-count="${k}"]`);
      dd.textContent = String(v);
      dd.parentElement.classList.toggle("hot", k === "stuck" && v > 0);
    }
  }

  function gridRow(r, sc) {
    const titles = (sc && sc.steps) || [];
    const stuck = r.stuckForSec > 0;
    const tr = el("tr", { class: stuck ? "stuck" : r.active ? "" : "inactive" });
    const scTitle = sc ? sc.title : r.scenario || "";
    tr.append(
      el("th", { scope: "row", class: "learner" },
        el("span", { class: "name", text: r.learner, title: r.learner }),
        scTitle ? el("span", { class: "scenario", text: scTitle, title: scTitle }) : null),
      el("td", { class: "steps" }, stepCells(r, titles)),
      el("td", { class: "status" }, statusText(r)),
      el("td", { class: "watch" }, r.active && r.session
        ? el("a", { href: `/terminal/${encodeURIComponent(r.session)}`, target: "_blank", rel: "noopener", class: "btn ghost small", text: `${t("watch")} ↗` })
        : null));
    return tr;
  }

  function stepCells(r, titles) {
    const ol = el("ol", { class: "cells" });
    r.steps.forEach((s, i) => {
      const current = i === r.current && r.active;
      const kind = s === "passed" ? "passed" : s === "skipped" ? "skipped" : current ? "current" : "pending";
      const label = `${i + 1}. ${titles[i] || ""} — ${t(`st${kind[0].toUpperCase()}${kind.slice(1)}`)}`;
      const mark = kind === "passed" ? "✓" : kind === "skipped" ? "↷" : String(i + 1);
      ol.append(el("li", { class: `cell ${kind}`, title: label, "aria-label": label }, el("span", { "aria-hidden": "true", text: mark })));
    });
    return ol;
  }

  function statusText(r) {
    if (!r.session) return el("span", { class: "is-muted", text: t("rowNotStarted") });
    if (r.stuckForSec > 0) return el("strong", { class: "is-bad", text: t("rowStuck", { n: Math.floor(r.stuckForSec / 60) }) });
    if (r.steps.length > 0 && r.done === r.steps.length) return el("strong", { class: "is-ok", text: `✓ ${t("rowFinished")}` });
    if (!r.active) return el("span", { class: "is-muted", text: t("rowEnded") });
    const progress = `${r.done}/${r.steps.length}`;
    return el("span", {}, el("span", { class: "fraction", text: progress }), " ", t("rowOnStep", { n: r.current + 1 }));
  }

  const inits = { join: initJoin, instructor: initInstructor, workshop: initGrid };
  const init = inits[document.body.dataset.page];
  if (init) init();
})();
