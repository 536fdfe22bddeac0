// The scenario player: starts or resumes the learner's session, shows one
// page at a time, runs click-to-run blocks in the terminal, and turns
// steps green from the live events. The API is documented in docs/api.md.
(function () {
  "use strict";

  const T = window.KEIKO;
  const body = document.body;
  const scenario = body.dataset.scenario;
  const total = Number(body.dataset.steps);
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  const state = {
    session: null, // {id, namespace, expiresAt}
    status: [], // per step: "pending", "passed" or "skipped"
    page: null, // "intro", a step index, or "finish"
    term: null,
    events: null,
    hinted: new Set(),
  };

  // api calls Keiko's JSON API and throws the error's message, which says
  // what to do next.
  async function api(method, path, data) {
    const res = await fetch(path, {
      method,
      headers: data ? { "Content-Type": "application/json" } : {},
      body: data ? JSON.stringify(data) : undefined,
    });
    if (res.status === 204) return null;
    const j = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error((j.error && j.error.message) || `${res.status} ${res.statusText}`);
      err.code = j.error && j.error.code;
      err.status = res.status;
      err.retryAfter = Number(res.headers.get("Retry-After")) || 0;
      throw err;
    }
    return j;
  }

  const sessionPath = () => `/api/sessions/${encodeURIComponent(state.session.id)}`;

  // ---- notices -----------------------------------------------------------

  function notice(text, action, onAction) {
    $("#notice-text").textContent = text;
    const b = $("#notice-action");
    b.hidden = !action;
    if (action) {
      b.textContent = action;
      b.onclick = () => {
        $("#notice").hidden = true;
        onAction();
      };
    }
    $("#notice").hidden = false;
  }

  // ---- starting ----------------------------------------------------------

  // start asks for the session, streaming the phases of a slow start, so
  // the learner sees what is happening instead of a spinner.
  async function start() {
    $("#provisioning").hidden = false;
    const phases = $("#phases");
    phases.replaceChildren();
    let last = null;
    const phase = (name, step) => {
      if (last) last.classList.replace("doing", "done");
      const li = document.createElement("li");
      li.className = "doing";
      let text = T["phase." + name] || name;
      if (step !== undefined) text = text.replace("{n}", String(step + 1));
      li.textContent = text;
      phases.append(li);
      last = li;
    };
    try {
      const res = await fetch("/api/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" },
        body: JSON.stringify({ scenario }),
      });
      if (!res.ok) {
        const j = await res.json().catch(() => ({}));
        throw Object.assign(new Error((j.error && j.error.message) || res.statusText), {
          retryAfter: Number(res.headers.get("Retry-After")) || 0,
        });
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.phase) phase(line.phase, line.step);
          if (line.error) throw new Error(line.error.message);
          if (line.session) {
            if (!line.resumed) phase("ready");
            if (last) last.classList.replace("doing", "done");
            await opened(line.session);
            return;
          }
        }
      }
      throw new Error(T.startCut);
    } catch (err) {
      $("#provisioning").hidden = true;
      notice(err.message, T.tryAgain, start);
    }
  }

  // opened shows a started session: its progress, its terminal, and the
  // live events that turn steps green.
  async function opened(session) {
    state.session = session;
    const s = await api("GET", sessionPath());
    state.status = s.steps.map((st) => st.status);
    $("#provisioning").hidden = true;
    for (const id of ["timer", "extend", "restart"]) $("#" + id).hidden = false;
    tick();
    openTerminal();
    follow();
    renderProgress();
    const fromHash = pageFromHash();
    show(fromHash !== null && reachable(fromHash) ? fromHash : firstPage());
  }

  const isDone = (i) => state.status[i] === "passed" || state.status[i] === "skipped";
  const current = () => {
    const i = state.status.findIndex((_, j) => !isDone(j));
    return i < 0 ? total : i;
  };
  const firstPage = () => {
    const c = current();
    return c === total ? "finish" : c === 0 ? "intro" : c;
  };
  // reachable: a learner may look back at any step done, and at the one
  // they are on; the steps after it are gated on its checks.
  const reachable = (p) => p === "intro" || (p === "finish" ? current() === total : p <= current());

  function pageFromHash() {
    const m = location.hash.match(/^#(intro|finish|step-(\d+))$/);
    if (!m) return null;
    return m[2] !== undefined ? Number(m[2]) - 1 : m[1];
  }

  // ---- pages -------------------------------------------------------------

  function show(page) {
    state.page = page;
    for (const el of $$(".step-page")) el.hidden = el.dataset.page !== String(page);
    const hash = typeof page === "number" ? `#step-${page + 1}` : `#${page}`;
    history.replaceState(null, "", hash);
    if (page === "finish") summarize();
    if (typeof page === "number") renderStep(page);
    $("#instructions").scrollTop = 0;
  }

  function renderStep(i) {
    const el = $(`[data-page="${i}"]`);
    if (!el) return;
    const done = isDone(i);
    el.classList.toggle("passed", state.status[i] === "passed");
    el.classList.toggle("skipped", state.status[i] === "skipped");
    const next = $("[data-next]", el);
    next.disabled = !done;
    next.textContent = (i === total - 1 ? T.finish : T.next) + " →";
    for (const b of $$("[data-skip], [data-solve], [data-check]", el)) b.hidden = done;
  }

  function renderProgress() {
    const n = state.status.filter((_, i) => isDone(i)).length;
    const bar = $(".progress");
    bar.setAttribute("aria-valuenow", String(n));
    $("#progress-text").textContent = `${n} / ${total}`;
    $$(".dot").forEach((d, i) => {
      d.dataset.status = state.status[i] || "pending";
      d.classList.toggle("current", i === current());
      d.disabled = !reachable(i);
    });
  }

  function markStep(i, status) {
    if (isDone(i)) return;
    state.status[i] = status;
    renderProgress();
    if (state.page === i) renderStep(i);
  }

  function summarize() {
    const passed = state.status.filter((s) => s === "passed").length;
    const skipped = state.status.filter((s) => s === "skipped").length;
    $("#summary").textContent = T.summary.replace("{passed}", passed).replace("{total}", total).replace("{skipped}", skipped);
  }

  function showResults(i, results) {
    const list = $(`[data-page="${i}"] [data-checks]`);
    if (!list) return;
    const items = $$("li", list);
    results.forEach((r, k) => {
      let li = items[k];
      if (!li) {
        li = document.createElement("li");
        li.innerHTML = '<span class="mark" aria-hidden="true"></span><span class="msg"></span>';
        list.append(li);
      }
      // A passing check says nothing; it shows what it checks, as the
      // page first did.
      const msg = $(".msg", li);
      if (li.dataset.goal === undefined) li.dataset.goal = msg.textContent;
      li.className = "check " + (r.passed ? "ok" : "bad");
      msg.textContent = r.passed ? li.dataset.goal : r.message || li.dataset.goal;
    });
  }

  // ---- live events -------------------------------------------------------

  function follow() {
    if (state.events) state.events.close();
    const es = new EventSource(`${sessionPath()}/events`);
    state.events = es;
    es.addEventListener("step", (ev) => {
      const d = JSON.parse(ev.data);
      showResults(d.step, d.results);
      if (d.passed) markStep(d.step, "passed");
    });
    es.addEventListener("finished", () => {
      for (let i = 0; i < total; i++) markStep(i, "passed");
    });
    es.onerror = async () => {
      if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects
      lost();
    };
  }

  // lost is called when the session stops answering: it may have expired,
  // or the server restarted. The learner continues in a new sandbox,
  // fast-forwarded to their progress.
  async function lost() {
    try {
      await api("GET", sessionPath());
      setTimeout(follow, 2000); // still there: the stream broke, reconnect
    } catch (err) {
      if (err.status !== 404) {
        setTimeout(lost, 3000);
        return;
      }
      if (state.events) state.events.close();
      notice(T.expired, T.continue, start);
    }
  }

  // ---- terminal ----------------------------------------------------------

  function termTheme() {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    return dark
      ? { background: "#0b0c0e", foreground: "#f1efe9", cursor: "#ef5a4c", selectionBackground: "#3a3d46" }
      : { background: "#1b1d22", foreground: "#f1efe9", cursor: "#ef5a4c", selectionBackground: "#3a3d46" };
  }

  function openTerminal() {
    const status = $("#term-status");
    const url = `${location.origin}${sessionPath()}/terminal`;
    if (state.term) state.term.ws && state.term.ws.close();
    $("#terminal").replaceChildren();
    state.term = new KeikoTerminal($("#terminal"), url, {
      fontSize: 15,
      theme: termTheme(),
      onStatus: (s) => {
        status.dataset.state = s;
        status.textContent = T["terminal." + s] || s;
      },
    });
  }

  // ---- actions -----------------------------------------------------------

  async function act(button, f) {
    button.disabled = true;
    button.classList.add("busy");
    try {
      await f();
    } catch (err) {
      notice(err.message);
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
    }
  }

  document.addEventListener("click", (e) => {
    const t = e.target.closest("button, code.run");
    if (!t) return;
    const page = t.closest(".step-page");
    const step = page ? Number(page.dataset.page) : NaN;
    if (t.matches("[data-next]")) {
      const p = state.page;
      show(p === "intro" ? 0 : p + 1 >= total ? "finish" : p + 1);
    } else if (t.matches("[data-goto]")) {
      show(Number(t.dataset.goto));
    } else if (t.matches("[data-check]")) {
      act(t, async () => {
        const r = await api("POST", `${sessionPath()}/steps/${step}/check`);
        showResults(step, r.results);
        if (r.passed) markStep(step, "passed");
      });
    } else if (t.matches("[data-solve]")) {
      if (!confirm(T.solveConfirm)) return;
      act(t, () => api("POST", `${sessionPath()}/steps/${step}/solve`)); // the events turn it green
    } else if (t.matches("[data-skip]")) {
      if (!confirm(T.skipConfirm)) return;
      act(t, async () => {
        await api("POST", `${sessionPath()}/steps/${step}/skip`);
        markStep(step, "skipped");
        show(step + 1 >= total ? "finish" : step + 1);
      });
    } else if (t.matches(".run-btn, code.run")) {
      const block = t.closest(".run-block") || t;
      const text = (t.matches("code.run") ? t : $("code", block)).textContent.replace(/\n$/, "");
      const action = block.dataset.action || "exec";
      if (action === "copy") copy(text, t);
      else if (state.term) state.term.run(text, { interrupt: block.dataset.interrupt === "true" });
    } else if (t.matches(".copy-btn")) {
      copy($("code", t.closest(".run-block")).textContent.replace(/\n$/, ""), t);
    }
  });

  // The hint is recorded once per step, for the instructor's report.
  for (const d of $$("[data-hint]")) {
    d.addEventListener("toggle", () => {
      const step = Number(d.closest(".step-page").dataset.page);
      if (d.open && state.session && !state.hinted.has(step)) {
        state.hinted.add(step);
        api("POST", `${sessionPath()}/steps/${step}/hint`).catch(() => {});
      }
    });
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = Object.assign(document.createElement("textarea"), { value: text });
      document.body.append(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    const old = button.textContent;
    button.textContent = T.copied;
    setTimeout(() => (button.textContent = old), 1200);
  }

  // Every run-block gets its buttons: Run for exec blocks, Copy for all.
  for (const block of $$(".run-block")) {
    const bar = document.createElement("div");
    bar.className = "run-bar";
    if (block.dataset.action === "exec") {
      const run = Object.assign(document.createElement("button"), { type: "button", className: "run-btn", textContent: "▶ " + T.run });
      run.title = T.runTitle;
      bar.append(run);
    }
    const cp = Object.assign(document.createElement("button"), { type: "button", className: "copy-btn", textContent: T.copy });
    bar.append(cp);
    block.append(bar);
  }
  for (const c of $$("code.run")) c.title = c.dataset.action === "copy" ? T.copy : T.runTitle;

  // ---- time --------------------------------------------------------------

  function tick() {
    if (!state.session) return;
    const left = Math.max(0, new Date(state.session.expiresAt) - Date.now());
    const m = Math.floor(left / 60000);
    const s = Math.floor((left % 60000) / 1000);
    $("#timer-text").textContent = `${m}:${String(s).padStart(2, "0")}`;
    $("#timer").dataset.level = left < 2 * 60000 ? "low" : left < 10 * 60000 ? "warn" : "ok";
  }
  setInterval(tick, 1000);

  $("#extend").addEventListener("click", (e) =>
    act(e.currentTarget, async () => {
      const s = await api("POST", `${sessionPath()}/extend`);
      state.session.expiresAt = s.expiresAt;
      tick();
    }),
  );

  $("#restart").addEventListener("click", (e) => {
    if (!confirm(T.restartConfirm)) return;
    act(e.currentTarget, async () => {
      if (state.events) state.events.close();
      await api("DELETE", sessionPath());
      state.session = null;
      history.replaceState(null, "", location.pathname + location.search);
      start();
    });
  });

  $("#end").addEventListener("click", (e) =>
    act(e.currentTarget, async () => {
      if (state.events) state.events.close();
      await api("DELETE", sessionPath());
      location.href = "/";
    }),
  );

  document.addEventListener("keiko-theme", () => {
    if (state.term) state.term.term.options.theme = termTheme();
  });

  start();
})();
