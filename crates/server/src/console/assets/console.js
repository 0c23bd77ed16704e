// The Quiver console: reads /webui/api/* (relative to this page), renders tables, and
// runs the snapshot actions. No framework, no build step, nothing from another host.
"use strict";

const POLL_JOBS_MS = 1000;
const REFRESH_MS = 10000;

const view = {
  selected: null, // {db, name} of the collection shown in detail
  running: new Set(), // ids of jobs not yet terminal at the last poll
  jobsTimer: null,
};

const $ = (id) => document.getElementById(id);

// Under authorization the API wants `Authorization: Bearer user:password`. The sign-in form
// keeps it in sessionStorage: this tab only, gone when it closes, never written to disk.
const TOKEN_KEY = "quiver-console-token";
// Milvus's "missing or wrong credentials" code.
const NEED_AUTHENTICATE = 1800;

// The console refuses users without the admin role (and admins are denied nothing), so a
// denial means: sign in as someone else.
function refusedAtTheDoor(reply) {
  return reply.code === NEED_AUTHENTICATE || / permission deny to /.test(reply.message ?? "");
}

// One API call: the data of a {"code": 0} reply, or an Error carrying Milvus's code and message.
async function call(path, body) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
  const response = await fetch("api/" + path, init);
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${path}`);
  const reply = await response.json();
  if (refusedAtTheDoor(reply)) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("login-form").hidden = false;
  }
  if (reply.code !== 0) {
    const error = new Error(reply.message);
    error.code = reply.code;
    throw error;
  }
  return reply.data;
}

// An element with properties (class, data-*, title, ...) and children (nodes or text).
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function cell(content, props = {}) {
  return el("td", props, content);
}

function number(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// A local time as 2026-03-12 17:20:35: the same in every locale.
function when(ms) {
  const t = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${two(t.getMonth() + 1)}-${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;
}

function sizeCell(bytes) {
  return cell(size(bytes), { class: "num", title: `${number(bytes)} bytes`, "data-bytes": String(bytes) });
}

const GOOD = new Set(["Finished", "Loaded", "Completed", "Flushed"]);
const BUSY = new Set(["InProgress", "Executing", "Pending", "Growing"]);
const BAD = new Set(["Failed", "Unknown"]);

function badge(text) {
  const kind = GOOD.has(text) ? "good" : BUSY.has(text) ? "busy" : BAD.has(text) ? "bad" : "";
  return el("span", { class: `state ${kind}` }, text);
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function notify(message, kind = "error") {
  const notice = $("notice");
  notice.textContent = message;
  notice.className = kind;
  notice.hidden = false;
}

function failure(error) {
  notify(error.code === undefined ? error.message : `${error.message} (code ${error.code})`);
}

// Run an action with its button disabled; failures are shown in the notice.
async function act(button, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    failure(error);
  } finally {
    button.disabled = false;
  }
}

function fieldText(field) {
  let type = field.type;
  if (field.elementType) type += `<${field.elementType}>`;
  const dim = field.params && field.params.dim;
  if (dim) type += `(${dim})`;
  const marks = [];
  if (field.primaryKey) marks.push(field.autoId ? "primary key, auto id" : "primary key");
  if (field.partitionKey) marks.push("partition key");
  if (field.nullable) marks.push("nullable");
  return `${field.name} ${type}${marks.length ? ` [${marks.join(", ")}]` : ""}`;
}

async function refreshOverview() {
  const data = await call("overview");
  $("version").textContent = `Quiver ${data.version}`;
  $("updated").textContent = `updated ${when(Date.now())}`;
  const rows = [];
  for (const db of data.databases) {
    for (const c of db.collections) {
      const open = el("button", { type: "button", class: "link", "aria-label": `Show collection ${c.name} of database ${db.name}` }, c.name);
      open.addEventListener("click", () => select(db.name, c.name));
      const fields = c.fields.map(fieldText).concat(c.dynamicField ? ["dynamic fields"] : []);
      const selected = view.selected && view.selected.db === db.name && view.selected.name === c.name;
      rows.push(el("tr", { "data-db": db.name, "data-collection": c.name, class: selected ? "selected" : "" },
        cell(db.name),
        cell(open),
        cell(c.problem ? c.problem : number(c.rows), { class: c.problem ? "" : "num", "data-rows": String(c.rows ?? "") }),
        cell(badge(c.loadState)),
        cell(number(c.segments), { class: "num" }),
        cell(number(c.indexes), { class: "num" }),
        cell(fields.join(" · "), { class: "fields" })));
    }
  }
  fill($("collections").tBodies[0], rows);
  $("no-collections").hidden = rows.length > 0;
}

async function select(db, name) {
  view.selected = { db, name };
  history.replaceState(null, "", `#${encodeURIComponent(db)}/${encodeURIComponent(name)}`);
  for (const row of $("collections").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.db === db && row.dataset.collection === name);
  }
  if ($("restore-db").value === "") $("restore-db").value = db;
  try {
    await refreshDetail();
  } catch (error) {
    failure(error);
  }
}

async function refreshDetail() {
  const chosen = view.selected;
  if (!chosen) {
    $("detail").hidden = true;
    return;
  }
  let data;
  try {
    data = await call(`collection?db=${encodeURIComponent(chosen.db)}&name=${encodeURIComponent(chosen.name)}`);
  } catch (error) {
    if (error.code === 100) { // dropped meanwhile
      view.selected = null;
      $("detail").hidden = true;
      return;
    }
    throw error;
  }
  $("detail").hidden = false;
  $("detail-name").textContent = `${chosen.db}.${chosen.name}`;

  fill($("segments").tBodies[0], data.segments.map((s) => el("tr", { "data-segment": s.id },
    cell(s.id, { class: "id" }),
    cell(s.partition),
    cell(badge(s.state)),
    cell(number(s.rows), { class: "num" }),
    s.state === "Growing" ? cell("in memory", { class: "num" }) : sizeCell(s.bytes),
    cell(badge(s.indexState), { title: s.pendingIndexes.length ? `waiting for ${s.pendingIndexes.join(", ")}` : "" }))));

  fill($("indexes").tBodies[0], data.indexes.map((i) => el("tr", { "data-index": i.name },
    cell(i.name),
    cell(i.field),
    cell(i.type),
    cell(i.metric || "–"),
    cell(Object.entries(i.params).map(([k, v]) => `${k}=${v}`).join(", ") || "–", { class: "fields" }),
    cell(el("span", {}, badge(i.state), ` ${number(i.indexedRows)} of ${number(i.totalRows)} rows`)))));

  fill($("snapshots").tBodies[0], data.snapshots.map((s) => snapshotRow(chosen, s)));

  const pick = $("restore-snapshot");
  const kept = pick.value;
  pick.replaceChildren(...data.snapshots.map((s) => el("option", { value: s.name }, s.name)));
  if (data.snapshots.some((s) => s.name === kept)) pick.value = kept;
}

function snapshotRow(collection, s) {
  const restore = el("button", { type: "button", class: "quiet", "aria-label": `Restore snapshot ${s.name}` }, "Restore…");
  restore.addEventListener("click", () => {
    $("restore-snapshot").value = s.name;
    $("restore-target").focus();
  });
  const drop = el("button", { type: "button", class: "danger", "aria-label": `Drop snapshot ${s.name}` }, "Drop");
  drop.addEventListener("click", () => act(drop, async () => {
    if (!confirm(`Drop snapshot ${s.name} of ${collection.name}? Its data stays with the collection.`)) return;
    await call("snapshots/drop", { db: collection.db, collection: collection.name, name: s.name });
    notify(`Snapshot ${s.name} dropped.`, "info");
    await refreshDetail();
  }));
  const held = s.restoringJob ? `restore job ${s.restoringJob}` : s.pins ? `${s.pins} pin${s.pins === 1 ? "" : "s"}` : "–";
  return el("tr", { "data-snapshot": s.name },
    cell(el("span", {}, s.name, s.description ? el("div", { class: "fields" }, s.description) : "")),
    cell(when(s.createTime)),
    sizeCell(s.bytes),
    cell(number(s.segments), { class: "num" }),
    cell(number(s.rows), { class: "num" }),
    cell(held),
    cell(el("span", {}, restore, drop)));
}

async function refreshJobs() {
  clearTimeout(view.jobsTimer);
  const jobs = await call("jobs");
  fill($("jobs").tBodies[0], jobs.map((j) => el("tr", { "data-job": j.id, "data-state": j.state },
    cell(j.id, { class: "id" }),
    cell(j.snapshot),
    cell(`${j.db}.${j.collection}`),
    cell(badge(j.state)),
    cell(el("span", {}, el("progress", { max: 100, value: j.progress, "aria-label": `Job ${j.id} progress` }), ` ${j.progress}%`)),
    cell(`${size(j.copiedBytes)} of ${size(j.totalBytes)}`, { class: "num" }),
    cell(j.reason || "–"))));
  $("no-jobs").hidden = jobs.length > 0;

  const running = new Set(jobs.filter((j) => !j.terminal).map((j) => j.id));
  const finished = [...view.running].some((id) => !running.has(id));
  view.running = running;
  if (finished) await refreshData(); // a restored collection now has its rows
  if (running.size > 0) view.jobsTimer = setTimeout(pollJobs, POLL_JOBS_MS);
}

function pollJobs() {
  refreshJobs().catch((error) => {
    failure(error);
    view.jobsTimer = setTimeout(pollJobs, POLL_JOBS_MS);
  });
}

async function refreshData() {
  await refreshOverview();
  await refreshDetail();
}

async function refreshAll() {
  try {
    await refreshData();
    await refreshJobs();
  } catch (error) {
    failure(error);
  }
}

function selectedOrFail() {
  if (!view.selected) throw new Error("Choose a collection first.");
  return view.selected;
}

$("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  act(form.querySelector("button"), async () => {
    const { db, name: collection } = selectedOrFail();
    const name = $("create-name").value.trim();
    await call("snapshots/create", { db, collection, name, description: $("create-description").value });
    notify(`Snapshot ${name} of ${collection} created.`, "info");
    form.reset();
    await refreshDetail();
  });
});

$("restore-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  act(form.querySelector("button"), async () => {
    const { db, name: collection } = selectedOrFail();
    const body = {
      db,
      collection,
      name: $("restore-snapshot").value,
      targetDb: $("restore-db").value.trim(),
      targetCollection: $("restore-target").value.trim(),
    };
    const started = await call("snapshots/restore", body);
    notify(`Restore job ${started.jobId} started: ${body.name} into ${body.targetDb}.${body.targetCollection}.`, "info");
    $("restore-target").value = "";
    view.running.add(started.jobId); // so its end refreshes the tables, however fast
    await refreshOverview();
    await refreshJobs();
  });
});

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  sessionStorage.setItem(TOKEN_KEY, `${$("login-user").value}:${$("login-password").value}`);
  form.reset();
  form.hidden = true;
  $("notice").hidden = true;
  refreshAll();
});

$("refresh").addEventListener("click", () => {
  $("notice").hidden = true;
  refreshAll();
});

// `#db/collection` opens that collection.
const chosen = location.hash.slice(1).split("/");
if (chosen.length === 2 && chosen[1]) {
  view.selected = { db: decodeURIComponent(chosen[0]), name: decodeURIComponent(chosen[1]) };
  $("restore-db").value = view.selected.db;
}
refreshAll();
setInterval(() => refreshData().catch(failure), REFRESH_MS);
