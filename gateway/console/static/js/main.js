// The agents' console: signs in, keeps the lists and the open conversation
// in step with the event stream, and wires the header, dialogs and keys.
//
// Routes live in the URL fragment: #/<list> or #/<list>/<conversation id>,
// so a reload or a new sign-in comes back to the same place.

import { api, onUnauthorized, setCsrfToken } from "./api.js";
import { connect } from "./events.js";
import { loadTexts, t } from "./i18n.js";
import { byId, h, debounce, duration, presenceName } from "./dom.js";
import { ListView, VIEWS, viewName } from "./list.js";
import { ConversationView } from "./conversation.js";
import { clearDrafts } from "./composer.js";
import { bindKeys, fillHelp } from "./keys.js";
import { settings, saveSettings, askPermission, unlockAudio, beep, notify } from "./alerts.js";

const TITLE = "Switchboard";

const app = {
  me: null,
  labels: [], // the labels agents may set (from agents/me)
  canned: [],
  agents: [],
  waiting: [],
  mine: [],
  filters: { channel: "", label: "", agent: "", unread: false, q: "" },
  view: "",
  openId: "",
  stream: null,
  signedIn: false,
  toastTimer: 0,
  primed: false, // the Waiting list was loaded once: what joins it now is news
  list: null,
  conversation: null,

  agentName(id) {
    if (this.me && id === this.me.id) return this.me.name || id;
    return this.agents.find((a) => a.id === id)?.name || id;
  },

  // errorText is what an API error says to the agent.
  errorText(err) {
    switch (err.code) {
      case "network": return t("error.network");
      case "at_capacity": return t("error.at_capacity");
      case "window_closed": return t("error.window_closed");
      case "not_waiting": return t("error.not_waiting");
      case "not_assigned": return t("error.not_assigned");
      case "forbidden": return t("error.forbidden");
      case "not_found": return t("error.not_found");
      case "unavailable": return t("error.unavailable");
    }
    switch (err.status) {
      case 409: return t("error.conflict");
      case 413: return t("error.too_large");
      case 415: return t("error.unsupported_type");
    }
    return err.message || t("error.generic");
  },

  toast(text) {
    const el = byId("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
  },

  go(view, id = "") {
    location.hash = id ? `#/${view}/${encodeURIComponent(id)}` : `#/${view}`;
  },

  back() {
    if (this.openId) this.go(this.view);
  },

  openDialog(id) {
    const d = byId(id);
    if (!d.open) d.showModal();
  },

  // conversationChanged updates the lists with a fresh copy.
  conversationChanged(c) {
    this.list.update(c);
    const i = this.mine.findIndex((x) => x.id === c.id);
    const isMine = c.state === "assigned" && c.assigned_to === this.me.id;
    if (i >= 0 && !isMine) this.mine.splice(i, 1);
    else if (i >= 0) this.mine[i] = c;
    else if (isMine) this.mine.unshift(c);
    this.badges();
  },

  markRead(id) {
    for (const c of [...this.mine, ...this.list.items]) if (c.id === id) c.unread = 0;
    const c = this.list.items.find((x) => x.id === id);
    if (c) this.list.replaceRow(c);
    this.badges();
  },

  afterAction(id) {
    this.conversation.refresh(id);
    refreshWaiting();
    refreshMine();
  },

  // pickAgent lets the agent choose a colleague to transfer or assign to.
  async pickAgent(action, c) {
    const dialog = byId("pick-dialog");
    byId("pick-title").textContent = action === "transfer" ? t("pick.transfer") : t("pick.assign");
    byId("pick-error").textContent = "";
    await refreshAgents();
    const candidates = this.agents.filter((a) =>
      (action === "assign" || a.id !== this.me.id) && (!a.channels || a.channels.includes(c.channel)));
    byId("pick-list").replaceChildren(...(candidates.length ? candidates.map((a) => h("li", {},
      h("button", { type: "button", onclick: async () => {
        try {
          await (action === "transfer" ? api.transfer(c.id, a.id) : api.assign(c.id, a.id));
          dialog.close();
          this.toast(action === "transfer" ? t("done.transfer") : t("done.assign"));
          this.afterAction(c.id);
        } catch (err) {
          byId("pick-error").textContent = this.errorText(err);
        }
      } }, a.name || a.id),
      " ", personStatus(a))) : [h("li", {}, t("pick.nobody"))]));
    this.openDialog("pick-dialog");
  },

  badges() {
    const n = this.waiting.length;
    document.title = n ? `(${n}) ${TITLE}` : TITLE;
    setBadge("count-waiting", n, t("badge.waiting", { n }));
    const unread = this.mine.reduce((sum, c) => sum + (c.unread || 0), 0);
    setBadge("count-mine", unread, t("badge.unread", { n: unread }));
  },
};

function setBadge(id, n, text) {
  const el = byId(id);
  el.hidden = n === 0;
  el.replaceChildren(h("span", { "aria-hidden": "true" }, String(n)), h("span", { class: "sr-only" }, text));
}

// personStatus shows a colleague's presence dot and load.
function personStatus(a) {
  const open = a.open_conversations;
  const load = a.max_conversations ? `${open}/${a.max_conversations}` : String(open);
  return h("span", { class: "person-status" },
    h("span", { class: `dot ${a.presence || "offline"}`, role: "img", "aria-label": presenceName(a.presence) }),
    " ", t("colleagues.load", { load }));
}

// ---- data ----

async function refreshWaiting() {
  try {
    const before = new Set(app.waiting.map((c) => c.id));
    const data = await api.queue();
    app.waiting = data.conversations || [];
    app.list.setWaiting();
    app.badges();
    const fresh = app.waiting.filter((c) => !before.has(c.id));
    if (fresh.length && app.primed) {
      beep();
      const c = fresh[0];
      notify(t("notify.waiting"), c.user?.name || c.user?.id || "", c.id, () => app.go("waiting", c.id));
    }
    app.primed = true;
  } catch { /* the next event or resync tries again */ }
}

async function refreshMine() {
  try {
    const data = await api.list({ state: "assigned", assigned_to: "me", limit: 200 });
    app.mine = data.conversations || [];
    app.badges();
  } catch { /* as above */ }
}

async function refreshAgents() {
  try {
    const data = await api.agents();
    app.agents = data.agents;
  } catch { /* keep the last list */ }
  // Supervisors see everyone's conversations: let them filter by agent.
  const select = byId("filter-agent");
  select.hidden = app.me?.role !== "supervisor";
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, t("filter.any_agent")),
    ...app.agents.map((a) => h("option", { value: a.id }, a.name || a.id)));
  select.value = app.agents.some((a) => a.id === chosen) ? chosen : "";
}

// touch reloads one conversation after an event about it (coalescing bursts).
const touchTimers = new Map();
function touch(id, then) {
  clearTimeout(touchTimers.get(id));
  touchTimers.set(id, setTimeout(async () => {
    touchTimers.delete(id);
    const c = app.conversation.id === id ? await app.conversation.refresh(id) : await api.conversation(id).catch(() => null);
    if (!c) return;
    if (app.conversation.id !== id) app.conversationChanged(c);
    if (then) then(c);
  }, 100));
}

const refreshWaitingSoon = debounce(refreshWaiting, 100);
const refreshAgentsSoon = debounce(refreshAgents, 1000);
const refreshMineSoon = debounce(refreshMine, 100);

// shown tells whether the console shows a conversation: open, in the
// current list, or held by the agent. Events about others are left alone,
// so a busy channel's bot traffic costs no requests.
function shown(id) {
  return app.conversation.id === id || app.list.rows.has(id) || app.mine.some((c) => c.id === id);
}

function onEvent(name, n) {
  const id = n.conversation;
  switch (name) {
    case "conversation.waiting":
      refreshWaitingSoon();
      if (shown(id)) touch(id);
      break;
    case "conversation.claimed":
    case "conversation.ended":
      refreshWaitingSoon();
      refreshAgentsSoon();
      refreshMineSoon(); // a transfer or an assignment may have made it ours
      if (shown(id)) touch(id);
      break;
    case "conversation.message":
      if (!shown(id)) break;
      touch(id, (c) => {
        const last = (c.transcript || []).at(-1);
        const news = c.assigned_to === app.me.id && last?.author === "user";
        if (news && (app.openId !== c.id || document.visibilityState !== "visible")) {
          beep();
          notify(t("notify.message", { name: c.user?.name || c.user?.id || "" }), n.text || last.text || "", c.id, () => app.go("mine", c.id));
        }
      });
      break;
    case "message.failed":
      if (!shown(id)) break;
      touch(id);
      app.toast(t("notify.failed"));
      break;
  }
}

// resync reloads everything shown: after sign-in and after a stream that
// could not resume where it stopped.
function resync() {
  refreshWaiting();
  refreshMine();
  refreshAgents();
  if (app.view !== "waiting") app.list.load();
  app.conversation.refresh();
}

function setConnection(status) {
  const el = byId("connection");
  el.dataset.status = status;
  el.textContent = status === "live" ? t("connection.live") : status === "reconnecting" ? t("connection.reconnecting") : t("connection.offline");
}

// ---- routing ----

function route() {
  if (!app.signedIn) return;
  const m = location.hash.match(/^#\/(\w+)(?:\/(.+))?$/);
  const view = m && VIEWS.includes(m[1]) ? m[1] : "waiting";
  const id = m && m[2] ? decodeURIComponent(m[2]) : "";
  if (view !== app.view) {
    app.view = view;
    byId("list-title").textContent = viewName(view);
    for (const a of document.querySelectorAll("nav a[data-view]")) {
      if (a.dataset.view === view) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    app.list.show(view);
  }
  if (id !== app.openId) {
    const wasOpen = app.openId;
    app.openId = id;
    if (id) app.conversation.open(id);
    else {
      app.conversation.close();
      // Back on the list: put focus on the row that was open.
      app.list.rows.get(wasOpen)?.querySelector("a").focus();
    }
    app.list.markOpen(id);
  }
  document.body.classList.toggle("has-open", Boolean(id));
  app.list.fill(); // on a narrow screen the list was hidden while a conversation was open
}

// ---- session ----

function showSignIn(expired) {
  byId("app").hidden = true;
  byId("signin").hidden = false;
  byId("signin-expired").hidden = !expired;
  byId("signin-error").textContent = "";
  byId("signin-password").value = "";
  (byId("signin-agent").value ? byId("signin-password") : byId("signin-agent")).focus();
}

// sessionEnded runs on any 401: the stream stops and sign-in shows; the
// route and the drafts stay, so signing in again resumes the work.
function sessionEnded() {
  if (!app.signedIn) return;
  app.signedIn = false;
  app.stream?.close();
  app.stream = null;
  showSignIn(true);
}

async function start() {
  const me = await api.me();
  app.me = me;
  setCsrfToken(me.csrf_token);
  app.labels = me.labels || [];
  app.signedIn = true;
  app.view = "";
  app.openId = "";
  app.primed = false;
  byId("signin").hidden = true;
  byId("app").hidden = false;
  byId("me-name").textContent = me.name || me.id;
  byId("presence").value = me.presence || "offline";
  const channels = me.channels;
  byId("filter-channel").replaceChildren(h("option", { value: "" }, t("filter.any_channel")), ...channels.map((c) => h("option", { value: c }, c)));
  byId("filter-label").replaceChildren(h("option", { value: "" }, t("filter.any_label")), ...app.labels.map((l) => h("option", { value: l }, l)));
  api.canned().then((d) => { app.canned = d.canned_responses || []; }, () => {});
  // Loaded here as well as when the stream opens, so the lists fill even
  // where the stream is slow to start.
  refreshWaiting();
  refreshMine();
  refreshAgents();
  route();
  app.stream = connect({
    onEvent,
    onStatus: setConnection,
    onResync: resync,
    check: () => api.me().then(() => true, (err) => err.status !== 401),
  });
}

async function signIn(e) {
  e.preventDefault();
  const agent = byId("signin-agent").value.trim();
  const password = byId("signin-password").value;
  const error = byId("signin-error");
  if (!agent || !password) {
    error.textContent = t("signin.missing");
    return;
  }
  error.textContent = "";
  try {
    await api.signIn(agent, password);
  } catch (err) {
    error.textContent = err.status === 401 || err.status === 403 ? t("signin.wrong")
      : err.status === 429 ? t("signin.throttled") : app.errorText(err);
    return;
  }
  try {
    await start();
  } catch (err) {
    error.textContent = app.errorText(err);
  }
}

async function signOut() {
  // An agent who leaves is not handed conversations any more.
  if (byId("presence").value !== "offline") await api.presence("offline").catch(() => {});
  await api.signOut().catch(() => {});
  app.signedIn = false;
  app.stream?.close();
  app.stream = null;
  clearDrafts();
  app.conversation.close();
  app.list.ul.replaceChildren();
  app.waiting = [];
  app.mine = [];
  document.title = TITLE;
  history.replaceState(null, "", location.pathname);
  byId("signin-agent").value = "";
  showSignIn(false);
}

// ---- wiring ----

function wire() {
  app.list = new ListView(app, byId("list"), byId("list-status"), byId("list-pane"));
  app.conversation = new ConversationView(app, byId("conversation-pane"));
  byId("signin-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", signOut);
  byId("claim-next").addEventListener("click", async () => {
    try {
      const c = await api.claimNext(app.filters.channel);
      if (!c) {
        app.toast(t("claim.none"));
        return;
      }
      app.toast(t("claim.done", { name: c.user?.name || c.user?.id || c.id }));
      refreshWaiting();
      refreshMine();
      app.go("mine", c.id);
    } catch (err) {
      app.toast(app.errorText(err));
    }
  });
  const presence = byId("presence");
  presence.addEventListener("change", async () => {
    try {
      await api.presence(presence.value);
      app.me.presence = presence.value;
    } catch (err) {
      presence.value = app.me.presence || "offline";
      app.toast(app.errorText(err));
    }
  });

  const search = byId("search");
  const reload = () => {
    app.filters = {
      channel: byId("filter-channel").value, label: byId("filter-label").value, agent: byId("filter-agent").value,
      unread: byId("filter-unread").checked, q: search.value.trim(),
    };
    app.list.load();
  };
  search.addEventListener("input", debounce(reload, 300));
  for (const id of ["filter-channel", "filter-label", "filter-agent", "filter-unread"]) byId(id).addEventListener("change", reload);
  byId("filters").addEventListener("submit", (e) => { e.preventDefault(); reload(); });

  byId("open-help").addEventListener("click", () => {
    fillHelp(app, byId("help-table"));
    app.openDialog("help-dialog");
  });
  byId("open-colleagues").addEventListener("click", async () => {
    await refreshAgents();
    byId("colleagues").replaceChildren(...(app.agents.length
      ? app.agents.map((a) => h("li", {}, h("span", { class: "person" }, a.name || a.id), a.role === "supervisor" ? ` (${t("colleagues.supervisor")})` : "", " ", personStatus(a)))
      : [h("li", {}, t("colleagues.none"))]));
    app.openDialog("colleagues-dialog");
  });

  const notifyBox = byId("setting-notify");
  const soundBox = byId("setting-sound");
  byId("open-settings").addEventListener("click", () => {
    notifyBox.checked = settings.notify && "Notification" in window && Notification.permission === "granted";
    soundBox.checked = settings.sound;
    app.openDialog("settings-dialog");
  });
  notifyBox.addEventListener("change", async () => {
    settings.notify = notifyBox.checked;
    byId("settings-note").textContent = "";
    if (settings.notify) {
      const p = await askPermission();
      if (p !== "granted") {
        settings.notify = false;
        notifyBox.checked = false;
        byId("settings-note").textContent = t("settings.denied");
      }
    }
    saveSettings();
  });
  soundBox.addEventListener("change", () => {
    settings.sound = soundBox.checked;
    saveSettings();
    unlockAudio();
    beep();
  });
  // Audio can only start from a gesture; the first one unlocks it.
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockAudio, { once: true, capture: true });

  // Keep waiting times and window countdowns current.
  setInterval(() => {
    for (const el of document.querySelectorAll(".waited[data-since]")) {
      el.textContent = t("list.waited", { time: duration((Date.now() - Date.parse(el.dataset.since)) / 1000) });
    }
    for (const el of document.querySelectorAll(".countdown[data-until]")) {
      const left = (Date.parse(el.dataset.until) - Date.now()) / 1000;
      el.textContent = left > 0 ? t("conversation.window_left", { time: duration(left) }) : t("conversation.window_closed");
    }
  }, 30000);

  window.addEventListener("hashchange", route);
  // Reading a conversation in a background tab does not mark it read;
  // coming back does.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && app.signedIn) app.conversation.refresh();
  });
  onUnauthorized(sessionEnded);
  bindKeys(app);
}

async function boot() {
  await loadTexts().catch(() => {}); // without catalogues the markup's English stays
  wire();
  byId("boot").hidden = true;
  try {
    await start();
  } catch (err) {
    showSignIn(false);
    if (err.status !== 401) byId("signin-error").textContent = app.errorText(err);
  }
}

boot();
