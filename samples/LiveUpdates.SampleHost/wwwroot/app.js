// The sample dashboard page: plain ES modules, no framework, no build step. lib/live-updates.js is the
// @liveupdates/client package's main entry built into one file (clients/js/live-updates.js, `npm run build`).
// Every panel is a realtimeData() view: fetched over HTTP from the sample API, then kept current by WebSocket
// events (patched in place), and refetched when a reconnect could not recover what was missed.
import { LiveUpdatesClient, Status } from "./lib/live-updates.js";
import { LiveEvents } from "./lib/live-events.js";

const M = LiveEvents.Moderation;
const MM = LiveEvents.Modmail;
const T = LiveEvents.Tags;
const $ = (id) => document.getElementById(id);

const MEMBERS = [
  ["200000000000000001", "ada"],
  ["200000000000000002", "grace"],
  ["200000000000000003", "linus"],
  ["200000000000000004", "ken"],
  ["200000000000000005", "barbara"],
];

// ── development session ───────────────────────────────────────────────────────
// A real dashboard gets the session token from its own server (see the README); the sample host hands out a
// development token at /dev/token, a route that exists only in the sample and answers only loopback callers.
async function devSession() {
  const response = await fetch("/dev/token", { cache: "no-store" });
  if (!response.ok) throw new Error(`/dev/token answered ${response.status}`);
  return response.json();
}

let session;
for (let attempt = 0; ; attempt++) {
  try {
    session = await devSession();
    break;
  } catch (err) {
    showPageError(`Cannot reach the sample host (${err.message}); retrying…`);
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
  }
}
showPageError(null);

const params = new URLSearchParams(location.search);
const guildId = params.get("guild") ?? session.guilds[0];
const me = session.userId;
$("guild-id").textContent = guildId;
$("ws-url").textContent = session.wsUrl;
renderGuildNav(session.guilds);

const client = new LiveUpdatesClient({
  url: session.wsUrl,
  // Called on every (re)connect, so an expired token is replaced by a fresh one.
  token: async () => (await devSession()).token,
  logger: params.has("debug") ? console : undefined,
});

// ── connection indicator (the seed's section 6.6) ─────────────────────────────
const LABELS = { [Status.Connecting]: "Connecting…", [Status.Live]: "Live", [Status.Reconnecting]: "Reconnecting…", [Status.Closed]: "Offline" };
function renderStatus(status) {
  const el = $("connection");
  el.dataset.status = status;
  el.querySelector(".label").textContent = LABELS[status];
}
client.onStatus(renderStatus);
renderStatus(client.status);

client.onError((e) => {
  if (e.guildId === guildId || !e.guildId) log(`server error ${e.code}: ${e.message}`, "system");
});
client.onSync(guildId, ({ recovered, resubscribed }) => {
  if (recovered === false && resubscribed) {
    log("reconnected: the server could not replay what was missed (new epoch) — refetching", "system");
    document.body.dataset.lastSync = "refetch";
  }
});

// ── panels ────────────────────────────────────────────────────────────────────
const flash = new Set(); // ids changed by a live event: highlighted once when next drawn
const byId = (list, item) => [...list.filter((x) => x.id !== item.id), item];
const without = (list, id) => list.filter((x) => x.id !== id);
let configMeta = "";

const config = client.realtimeData({
  guildId,
  path: "moderation/config",
  events: [M.ConfigUpdated],
  onEvent: (_event, data) => {
    configMeta = data.updatedBy ? `saved by ${data.updatedBy === me ? "you" : data.updatedBy}` : "saved";
    return data.config;
  },
  onChange: ({ data }) => data && renderConfig(data),
});

client.realtimeData({
  guildId,
  path: "moderation/rules",
  events: [M.RuleCreated, M.RuleUpdated, M.RuleDeleted],
  onEvent: (event, data, rules) => {
    if (event === M.RuleDeleted) return without(rules, data.ruleId);
    flash.add(data.rule.id);
    return byId(rules, data.rule).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  },
  onChange: ({ data }) => data && renderRules(data),
});

client.realtimeData({
  guildId,
  path: "moderation/infractions?limit=25",
  events: [M.InfractionCreated],
  onEvent: (_event, data, list) => {
    flash.add(data.infraction.id);
    return [data.infraction, ...without(list, data.infraction.id)].slice(0, 25);
  },
  onChange: ({ data }) => data && renderInfractions(data),
});

client.realtimeData({
  guildId,
  path: "modmail/conversations",
  events: [MM.ConversationCreated, MM.MessageReceived, MM.MessageSent, MM.ConversationClaimed, MM.ConversationClosed],
  onEvent: (event, data, list) => {
    if (event === MM.ConversationClosed) return without(list, data.conversation.id);
    flash.add(data.conversation.id);
    return byId(list, data.conversation).sort((a, b) => b.lastMessageAt.localeCompare(a.lastMessageAt));
  },
  onChange: ({ data }) => data && renderModmail(data),
});

client.realtimeData({
  guildId,
  path: "tags",
  events: [T.TagCreated, T.TagUpdated, T.TagDeleted],
  onEvent: (event, data, tags) => {
    if (event === T.TagDeleted) return without(tags, data.tagId);
    flash.add(data.tag.id);
    return byId(tags, data.tag).sort((a, b) => a.name.localeCompare(b.name));
  },
  onChange: ({ data }) => data && renderTags(data),
});

// Toasts for new infractions (the seed's section 6.7) and the event log: plain listeners.
client.on(guildId, M.InfractionCreated, ({ infraction }) =>
  toast(`New infraction: ${infraction.type} for ${infraction.userName}`, infraction.reason),
);
client.on(guildId, "*", ({ event }, envelope) => log(event, "", envelope.seq));

client.connect();
document.body.dataset.ready = "true";

// ── actions: write through the API; every open page (this one too) updates from the event ─────────
async function api(method, path, body) {
  const response = await fetch(`/api/guilds/${guildId}/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify({ ...body, _dashboardUserId: me }),
  });
  const result = await response.json().catch(() => null);
  if (!result?.success) toast("Request failed", result?.error?.message ?? `HTTP ${response.status}`);
  return result;
}

$("config-form").addEventListener("submit", (e) => {
  e.preventDefault();
  api("PUT", "moderation/config", {
    ...(config.data ?? {}),
    automod: $("config-automod").checked,
    maxMentions: Number($("config-max-mentions").value) || 5,
    muteRole: $("config-mute-role").value,
  });
});

$("rule-form").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "moderation/rules", { name: $("rule-name").value, type: $("rule-type").value, action: $("rule-action").value, points: 1 });
  $("rule-name").value = "";
});

$("tag-form").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "tags", { name: $("tag-name").value, content: $("tag-content").value });
  $("tag-name").value = $("tag-content").value = "";
});

$("infraction-warn").addEventListener("click", () => {
  const [userId, userName] = MEMBERS[Math.floor(Math.random() * MEMBERS.length)];
  api("POST", "moderation/infractions", { type: "warn", userId, userName, reason: "Warned from the dashboard", points: 1 });
});

$("modmail-simulate").addEventListener("click", () => {
  const [userId, userName] = MEMBERS[Math.floor(Math.random() * MEMBERS.length)];
  api("POST", "modmail/conversations", { userId, userName, content: "Hello, can a moderator help me?" });
});

// ── rendering ─────────────────────────────────────────────────────────────────

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function listItems(items, render, emptyText) {
  if (items.length === 0) return [el("li", { class: "empty" }, emptyText)];
  return items.map((item) => {
    const li = render(item);
    li.dataset.id = item.id;
    if (flash.delete(item.id)) li.classList.add("flash");
    return li;
  });
}

function renderConfig(cfg) {
  $("config-automod").checked = cfg.automod === true;
  $("config-max-mentions").value = cfg.maxMentions ?? "";
  $("config-mute-role").value = cfg.muteRole ?? "";
  $("config-meta").textContent = configMeta;
  $("config").dataset.automod = String(cfg.automod === true);
}

function renderRules(rules) {
  $("rules-count").textContent = String(rules.length);
  $("rules-list").replaceChildren(
    ...listItems(
      rules,
      (r) =>
        el(
          "li",
          { class: r.enabled ? "" : "disabled" },
          el("input", {
            type: "checkbox",
            class: "toggle",
            title: r.enabled ? "Disable" : "Enable",
            "aria-label": `Enable ${r.name}`,
            checked: r.enabled,
            onchange: (e) => api("PATCH", `moderation/rules/${r.id}`, { enabled: e.target.checked }),
          }),
          el("div", { class: "grow" }, el("div", { class: "name" }, r.name), el("div", { class: "sub" }, `${r.type.replace("_", " ")}${r.pattern ? ` · /${r.pattern}/` : ""} · ${r.points} pt`)),
          el("span", { class: `badge ${r.action}` }, r.action),
          el("button", { class: "ghost delete", title: "Delete rule", "aria-label": `Delete ${r.name}`, onclick: () => api("DELETE", `moderation/rules/${r.id}?dashboardUserId=${me}`) }, "✕"),
        ),
      "No rules yet.",
    ),
  );
}

function renderInfractions(list) {
  $("infractions-list").replaceChildren(
    ...listItems(
      list,
      (i) =>
        el(
          "li",
          {},
          el("span", { class: `badge ${i.type}` }, i.type),
          el("div", { class: "grow" }, el("div", { class: "name" }, i.userName), el("div", { class: "sub" }, `${i.reason} · ${i.source === "automod" ? "auto-mod" : "moderator"}`)),
          el("span", { class: "muted small" }, time(i.createdAt)),
        ),
      "No infractions.",
    ),
  );
}

function renderModmail(list) {
  $("modmail-count").textContent = String(list.length);
  $("modmail-list").replaceChildren(
    ...listItems(
      list,
      (c) =>
        el(
          "li",
          {},
          el("span", { class: `badge ${c.status}` }, c.status),
          el(
            "div",
            { class: "grow" },
            el("div", { class: "name" }, c.userName, el("span", { class: "muted small" }, `  · ${c.messageCount} msg${c.claimedBy ? ` · claimed by ${c.claimedBy === me ? "you" : c.claimedBy}` : ""}`)),
            el("div", { class: "sub" }, c.lastMessagePreview),
          ),
          c.status === "open" && el("button", { class: "secondary claim", onclick: () => api("POST", `modmail/conversations/${c.id}/claim`, {}) }, "Claim"),
          el("button", { class: "secondary close", onclick: () => api("POST", `modmail/conversations/${c.id}/close`, { reason: "Resolved" }) }, "Close"),
        ),
      "No open conversations.",
    ),
  );
}

function renderTags(tags) {
  $("tags-list").replaceChildren(
    ...listItems(
      tags,
      (t) =>
        el(
          "li",
          {},
          el("div", { class: "grow" }, el("div", { class: "name" }, `!${t.name}`), el("div", { class: "sub" }, t.content)),
          el("button", { class: "ghost delete", title: "Delete tag", "aria-label": `Delete ${t.name}`, onclick: () => api("DELETE", `tags/${t.id}`) }, "✕"),
        ),
      "No tags.",
    ),
  );
}

function renderGuildNav(guilds) {
  $("guild-nav").replaceChildren(
    ...guilds.map((g, i) =>
      el("a", { href: `?guild=${g}`, "aria-current": g === (new URLSearchParams(location.search).get("guild") ?? guilds[0]) ? "page" : null }, `Guild ${String.fromCharCode(65 + i)}`),
    ),
  );
}

function log(text, cls = "", seq) {
  const list = $("log-list");
  list.prepend(el("li", { class: cls }, el("span", { class: "t" }, time(new Date().toISOString())), el("span", {}, text), seq !== undefined && el("span", { class: "seq" }, `#${seq}`)));
  while (list.children.length > 40) list.lastChild.remove();
}

function toast(title, body) {
  const node = el("div", { class: "toast" }, el("div", { class: "name" }, title), body && el("div", { class: "muted small" }, body));
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
  while ($("toasts").children.length > 3) $("toasts").firstChild.remove();
}

function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function showPageError(text) {
  const p = $("page-error");
  p.hidden = !text;
  p.textContent = text ?? "";
}
