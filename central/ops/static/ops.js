// The operations page: tiles, alarms and a branch's details, kept live by server-sent events.
// Everything received is shown through textContent, never as markup.
"use strict";

(() => {
  const STATES = {
    open: "otwarte / open", full: "pełne / full", paused: "wstrzymane / paused",
    closed: "zamknięte / closed", free_entry: "wolne wejście / free entry",
    emergency: "ewakuacja / emergency", fault: "awaria / fault", unknown: "brak danych / no data",
  };
  const ALARMS = {
    tailgate: "wejście na cudzym bilecie / tailgate", door_forced: "drzwi sforsowane / door forced",
    door_held_open: "drzwi przytrzymane / door held open", sensor_fault: "awaria czujnika / sensor fault",
    door_link_down: "brak łącza z drzwiami / door link down", printer: "drukarka / printer",
    code_guessing: "zgadywanie kodów / code guessing", outbox_backlog: "zaległe zdarzenia / outbox backlog",
  };
  const ACTIONS = [
    ["pause", "Wstrzymaj / Pause"], ["resume", "Wznów / Resume"],
    ["free_entry", "Wolne wejście / Free entry"], ["emergency", "Ewakuacja / Emergency"],
    ["normal", "Tryb normalny / Normal"], ["resync", "Wyślij rezerwacje / Resync"],
  ];
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const tiles = new Map();     // branch id -> {data, el}
  const alarms = new Map();    // event id -> alarm
  const commands = new Map();  // command id -> command
  let selected = null;
  let orderDirty = true;
  let urgentOrder = false;
  let summaryDirty = false;
  window.__applied = {};       // branch id -> {t, count}: when the page drew it (for latency)

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function ago(iso) {
    if (!iso) return "—";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (Number.isNaN(s)) return "—";
    if (s < 90) return `${s} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${Math.round(s / 3600)} h`;
  }
  function clock(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString("pl-PL");
  }
  function branchName(id) {
    const t = tiles.get(id);
    return t ? t.data.name : id;
  }

  // -- tiles ---------------------------------------------------------------------------------
  const PROBLEMS = {
    offline: "offline", door_down: "drzwi: brak łącza", door_fault: "drzwi: awaria",
    printer_paper_low: "mało papieru", printer_paper_out: "brak papieru",
    printer_offline: "drukarka offline", printer_error: "błąd drukarki", outbox: "zaległa kolejka",
    stale: "brak danych > 3 min", alarms: "alarmy", fault: "awaria", emergency: "ewakuacja",
  };
  function problemText(branch, code) {
    const [who, what] = code.includes(":") ? code.split(":") : ["", code];
    return `${who ? `${shortKiosk(branch, who)}: ` : ""}${PROBLEMS[what] ?? what}`;
  }
  function shortKiosk(branch, kiosk) {
    return kiosk.startsWith(`${branch}-`) ? kiosk.slice(branch.length + 1) : kiosk;
  }

  function kioskLine(branch, k) {
    const li = el("li", k.problems.length ? "kiosk bad" : "kiosk ok");
    li.dataset.kiosk = k.id;
    li.title = `${k.id}: online/door/printer/outbox/last feed`;
    li.append(el("b", "", shortKiosk(branch, k.id)), el("span", "online", k.online ? " online" : " offline"));
    li.append(el("span", "", ` · drzwi ${k.door ?? "—"} · druk. ${k.printer ?? "—"}`));
    const feed = el("span", "feed", ` · ${ago(k.last_feed_at)}`);
    if (k.last_feed_at) feed.dataset.at = k.last_feed_at;
    li.append(el("span", "", ` · kol. ${k.outbox ?? "—"}`), feed);
    return li;
  }

  function drawTile(data) {
    let entry = tiles.get(data.id);
    if (!entry) {
      const node = el("article", "tile");
      node.id = `tile-${data.id}`;
      node.dataset.branch = data.id;
      node.tabIndex = 0;
      node.addEventListener("click", () => select(data.id));
      node.addEventListener("keydown", (e) => { if (e.key === "Enter") select(data.id); });
      entry = { data, el: node };
      tiles.set(data.id, entry);
      $("tiles").append(node);
    }
    const before = entry.data;
    entry.data = data;
    const node = entry.el;
    node.className = `tile state-${data.state}${data.problems.length ? " problem" : ""}` +
      `${data.stale ? " stale" : ""}${selected === data.id ? " selected" : ""}`;
    node.dataset.state = data.state;
    const head = el("header");
    head.append(el("span", "name", data.name), el("span", "region", data.region || "—"));
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    const ratio = data.limit ? Math.min(1, (data.count ?? 0) / data.limit) : 0;
    fill.style.width = `${Math.round(ratio * 100)}%`;
    bar.append(fill);
    const nums = el("div", "numbers");
    nums.append(el("span", "count", data.count ?? "—"), el("span", "", " / "),
      el("span", "limit", data.limit ?? "—"));
    const today = el("div", "today");
    today.title = "waiting · check-ins today";
    today.append(el("span", "", "czeka "), el("span", "waiting", data.waiting ?? "—"),
      el("span", "", " · zameldowania dziś "), el("span", "checkins", data.checkins));
    const kiosks = el("ul", "kiosks");
    data.kiosks.forEach((k) => kiosks.append(kioskLine(data.id, k)));
    const problems = el("div", "problems", data.problems.map((p) => problemText(data.id, p)).join(", "));
    problems.title = data.problems.join(", ");
    node.replaceChildren(head, el("div", "state", STATES[data.state] ?? data.state), bar, nums,
      today, kiosks, problems);
    if (before.problems.length !== data.problems.length) urgentOrder = true;
    if (before.state !== data.state || before.count !== data.count) orderDirty = true;
    if (before === data || urgentOrder) orderDirty = true;
    filterTile(entry);
    summaryDirty = true;
    if (before !== data) window.__applied[data.id] = { t: Date.now(), count: data.count, state: data.state };
    addOption($("f-region"), data.region || "", data.region || "— bez regionu / no region");
    if (selected === data.id) drawDetails(false);
  }

  function addOption(select, value, label) {
    if ([...select.options].some((o) => o.value === value)) return;
    const option = el("option", "", label);
    option.value = value;
    select.append(option);
  }

  // -- filters and order -------------------------------------------------------------------------
  function sortKey(mode) {
    const byName = (a, b) => a.data.name.localeCompare(b.data.name, "pl");
    const fill = (t) => (t.data.limit ? (t.data.count ?? 0) / t.data.limit : -1);
    if (mode === "name") return byName;
    if (mode === "fill") return (a, b) => fill(b) - fill(a) || byName(a, b);
    if (mode === "region") return (a, b) => a.data.region.localeCompare(b.data.region, "pl") || byName(a, b);
    return (a, b) => b.data.problems.length - a.data.problems.length || byName(a, b);
  }

  function filterTile(t) {
    const text = $("f-search").value.trim().toLowerCase();
    const region = $("f-region").value;
    const state = $("f-state").value;
    const d = t.data;
    const visible = (region === "*" || d.region === region) && (state === "*" || d.state === state) &&
      (!$("f-problems").checked || d.problems.length > 0) &&
      (!text || d.name.toLowerCase().includes(text) || d.id.includes(text));
    if (t.el.hidden === visible) t.el.hidden = !visible;
    return visible;
  }

  function applyFilters() {
    summaryDirty = false;
    let shown = 0;
    let problems = 0;
    for (const t of tiles.values()) {
      if (t.data.problems.length) problems += 1;
      if (filterTile(t)) shown += 1;
    }
    $("shown").textContent = `${shown} / ${tiles.size}`;
    $("summary").textContent = `oddziały/branches ${tiles.size} · problemy/problems ${problems}`;
  }

  function reorder() {
    if (!orderDirty && !urgentOrder) return;
    orderDirty = false;
    urgentOrder = false;
    const sorted = [...tiles.values()].sort(sortKey($("f-sort").value));
    const box = $("tiles");
    sorted.forEach((t, i) => { if (box.children[i] !== t.el) box.insertBefore(t.el, box.children[i] || null); });
    applyFilters();
  }

  // -- alarms --------------------------------------------------------------------------------------
  function drawAlarms() {
    const list = $("alarms");
    const sorted = [...alarms.values()].sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 200);
    list.replaceChildren(...sorted.map((a) => {
      const li = el("li", a.acknowledged_by ? "alarm acked" : "alarm open");
      li.dataset.eventId = a.event_id;
      li.append(el("time", "", clock(a.at)), el("b", "", ` ${branchName(a.branch)}`),
        el("span", "", ` (${a.kiosk}) `), el("span", "kind", ALARMS[a.kind] ?? a.kind),
        el("div", "detail", a.detail));
      if (a.acknowledged_by) {
        li.append(el("div", "ack", `potwierdził/acknowledged: ${a.acknowledged_by}`));
      } else {
        const button = el("button", "ack-button", "Potwierdź / Acknowledge");
        button.addEventListener("click", () => post("/api/ack", { event_id: a.event_id }));
        li.append(button);
      }
      return li;
    }));
  }

  // -- a branch's details: chart, the day's numbers, actions and their results ---------------------
  function select(id) {
    selected = id;
    tiles.forEach((t, key) => t.el.classList.toggle("selected", key === id));
    drawDetails(true);
  }

  function numbersList(n, known) {
    const dl = el("dl", "day");
    const wait = n.average_wait_s === null ? "—" : `${Math.round(n.average_wait_s / 60)} min`;
    const rows = [
      ["Zameldowania / Check-ins", n.checkins],
      ["Nieobecni / No-shows", known ? n.no_shows : "— (brak rezerwacji / no bookings)"],
      ["Szczyt / Peak", n.peak ?? "—"],
      ["Czas pełny / Time full", `${Math.round(n.full_seconds / 60)} min`],
      ["Średnie czekanie / Average wait", wait],
    ];
    rows.forEach(([k, v]) => dl.append(el("dt", "", k), el("dd", "", v)));
    return dl;
  }

  function commandList(id) {
    const ol = el("ol", "commands");
    [...commands.values()].filter((c) => c.branch === id).slice(-10).reverse().forEach((c) => {
      const silent = c.ok === null && Date.now() - Date.parse(c.issued_at) > 30000;
      const result = silent ? "brak odpowiedzi / no answer yet"
        : c.ok === null ? "oczekuje… / pending…" : c.ok ? "ok" : `błąd / error: ${c.error}`;
      const li = el("li", c.ok === null ? "pending" : c.ok ? "ok" : "failed",
        `${clock(c.issued_at)} ${c.action} ${c.action === "set_limit" ? c.args.limit : ""} — ${c.issued_by} — `);
      li.dataset.commandId = c.command_id;
      li.append(el("span", "result", result));
      ol.append(li);
    });
    return ol;
  }

  function actionBar(id) {
    const bar = el("div", "actions");
    const limit = el("input");
    limit.type = "number"; limit.min = "1"; limit.max = "1000"; limit.id = "limit-input";
    const current = tiles.get(id)?.data.limit;
    if (current) limit.value = String(current);
    const setLimit = el("button", "", "Ustaw limit / Set limit");
    setLimit.dataset.action = "set_limit";
    setLimit.addEventListener("click", () => post("/api/command",
      { branch: id, action: "set_limit", args: { limit: Number(limit.value) } }));
    bar.append(limit, setLimit);
    ACTIONS.forEach(([action, label]) => {
      const b = el("button", "", label);
      b.dataset.action = action;
      b.addEventListener("click", () => post("/api/command", { branch: id, action }));
      bar.append(b);
    });
    return bar;
  }

  let detailsNumbers = null;
  let chartAt = 0;
  function drawDetails(refetch) {
    const box = $("details");
    if (!selected) { box.hidden = true; return; }
    const t = tiles.get(selected);
    if (!t) return;
    const id = selected;
    const reload = refetch || Date.now() - chartAt > 10000;
    if (reload) {
      chartAt = Date.now();
      fetch(`/api/branch/${encodeURIComponent(id)}`, { credentials: "same-origin" })
        .then((r) => r.json()).then((v) => { if (selected === id) { detailsNumbers = v; drawDetails(false); } });
    }
    const chart = box.querySelector("img.chart");
    const img = chart && chart.dataset.branch === id ? chart : el("img", "chart");
    if (img !== chart || reload) { img.src = `/chart/${encodeURIComponent(id)}.svg?t=${Date.now()}`; img.dataset.branch = id; }
    img.alt = `Obłożenie dziś / Occupancy today: ${t.data.name}`;
    const title = el("h2", "", t.data.name);
    const close = el("button", "close", "×");
    close.addEventListener("click", () => { selected = null; drawDetails(false); });
    const numbers = detailsNumbers && detailsNumbers.branch === id
      ? numbersList(detailsNumbers.numbers, detailsNumbers.no_shows_known) : el("p", "", "…");
    const keepLimit = box.querySelector("#limit-input");
    const bar = keepLimit && box.dataset.branch === id ? box.querySelector(".actions") : actionBar(id);
    box.dataset.branch = id;
    box.replaceChildren(close, title, img, numbers, bar, el("h3", "", "Polecenia / Commands"), commandList(id),
      el("p", "error", box.dataset.error || ""));
    box.hidden = false;
  }

  function post(url, body) {
    $("details").dataset.error = "";
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    }).then((r) => r.json().then((v) => {
      if (!r.ok) { $("details").dataset.error = v.error || `HTTP ${r.status}`; drawDetails(false); }
    }));
  }

  // -- the live feed -----------------------------------------------------------------------------
  function connect() {
    const source = new EventSource("/events");
    const data = (e) => JSON.parse(e.data);
    source.addEventListener("snapshot", (e) => {
      const snap = data(e);
      snap.branches.forEach(drawTile);
      alarms.clear(); snap.alarms.forEach((a) => alarms.set(a.event_id, a));
      commands.clear(); snap.commands.forEach((c) => commands.set(c.command_id, c));
      setLink(snap.link); drawAlarms(); orderDirty = true; reorder();
    });
    source.addEventListener("tiles", (e) => { data(e).forEach(drawTile); if (urgentOrder) reorder(); });
    source.addEventListener("alarms", (e) => { data(e).forEach((a) => alarms.set(a.event_id, a)); drawAlarms(); });
    source.addEventListener("commands", (e) => {
      data(e).forEach((c) => commands.set(c.command_id, c));
      if (selected) drawDetails(false);
    });
    source.addEventListener("link", (e) => setLink(data(e).up));
    source.addEventListener("error", () => {
      setLink(false);
      // A session that ended (logout elsewhere, expiry) sends the operator to the login page.
      fetch("/api/session", { credentials: "same-origin" }).then((r) => {
        if (r.status === 401) window.location.assign("/login");
      }).catch(() => {});
    });
  }

  function setLink(up) {
    const link = $("link");
    link.className = up ? "link up" : "link down";
    link.textContent = up ? "MQTT: połączono / connected" : "MQTT: brak połączenia / disconnected";
  }

  function init() {
    Object.entries(STATES).forEach(([value, label]) => addOption($("f-state"), value, label));
    ["f-search", "f-region", "f-state", "f-problems"].forEach((id) => $(id).addEventListener("input", applyFilters));
    $("f-sort").addEventListener("input", () => { orderDirty = true; reorder(); });
    setInterval(() => { if (orderDirty || urgentOrder) reorder(); else if (summaryDirty) applyFilters(); }, 1000);
    setInterval(() => { if (selected) drawDetails(false); }, 10000);
    setInterval(() => {
      document.querySelectorAll("#tiles .feed[data-at]").forEach((f) => { f.textContent = ` · ${ago(f.dataset.at)}`; });
    }, 15000);
    connect();
  }
  init();
})();
