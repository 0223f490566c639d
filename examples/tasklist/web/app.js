// The task list page. The list comes from the app's API; changes arrive live from Azure SignalR
// Service (or huddle) through @microsoft/signalr: taskUpdate for everyone, notify for this user.
// On every (re)connection the list is loaded again, since pushes sent while the connection was
// down are lost.
"use strict";

const $ = (sel) => document.querySelector(sel);

/** Tasks by id. A task only ever moves from open to done, so merging never goes back. */
const tasks = new Map();

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw Object.assign(new Error(data?.error || `${method} ${path}: ${res.status}`), { status: res.status });
  return data;
}

function showError(err) {
  $("#error").hidden = !err;
  $("#error").textContent = err ? err.message : "";
}

function merge(task) {
  const known = tasks.get(task.id);
  if (known?.done && !task.done) return;
  tasks.set(task.id, task);
}

function render() {
  const list = $("#tasks");
  list.replaceChildren(
    ...[...tasks.values()]
      .sort((a, b) => a.id - b.id)
      .map((t) => {
        const li = document.createElement("li");
        li.dataset.id = String(t.id);
        li.classList.toggle("done", t.done);
        const title = document.createElement("span");
        title.className = "title";
        title.textContent = t.title;
        const meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = t.done ? `${t.owner}'s, completed by ${t.completedBy}` : `${t.owner}'s`;
        li.append(title, meta);
        if (!t.done) {
          const btn = document.createElement("button");
          btn.type = "button";
          btn.className = "complete";
          btn.textContent = "Complete";
          btn.addEventListener("click", () =>
            api("POST", `/api/tasks/${t.id}/complete`).then(update, showError),
          );
          li.append(btn);
        }
        return li;
      }),
  );
}

function update(task) {
  merge(task);
  render();
}

async function loadTasks() {
  for (const t of await api("GET", "/api/tasks")) merge(t);
  render();
}

function notify(n) {
  const li = document.createElement("li");
  li.textContent = n.text;
  $("#notifications").prepend(li);
}

function setStatus(state) {
  $("#status").dataset.state = state;
  $("#status").textContent = state;
}

// The app's negotiate endpoint is /api/negotiate: the client appends "/negotiate" to this URL
// and follows the answer to the service.
const connection = new signalR.HubConnectionBuilder()
  .withUrl("/api")
  .withAutomaticReconnect()
  .configureLogging(signalR.LogLevel.Warning)
  .build();
connection.on("taskUpdate", update);
connection.on("notify", notify);
connection.onreconnecting(() => setStatus("reconnecting"));
connection.onreconnected(() => {
  setStatus("live");
  loadTasks().catch(showError);
});
// The automatic reconnection gives up after four tries (about 40 s); the page keeps trying.
connection.onclose(() => {
  setStatus("offline");
  retry();
});

let retryTimer;
function retry() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(start, 5000);
}

async function start() {
  try {
    // Connected first, then loaded: a change made in between arrives as a push, not lost.
    await connection.start();
    setStatus("live");
    await loadTasks();
    showError(null);
  } catch (err) {
    if (connection.state === signalR.HubConnectionState.Disconnected) {
      setStatus("offline");
      retry();
    } else {
      showError(err);
    }
  }
}

function signedIn(name) {
  $("#me").textContent = name;
  $("#whoami").hidden = false;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  start();
}

$("#signin").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "/api/signin", { name: $("#name").value.trim() }).then((me) => signedIn(me.name), showError);
});

$("#signout").addEventListener("click", async () => {
  await api("POST", "/api/signout");
  location.reload();
});

$("#add").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "/api/tasks", { title: $("#title").value })
    .then((t) => {
      $("#title").value = "";
      showError(null);
      update(t);
    }, showError);
});

api("GET", "/api/me").then(
  (me) => signedIn(me.name),
  (err) => {
    if (err.status !== 401) showError(err);
    $("#signin").hidden = false;
  },
);
