// One conversation: its header and actions, the transcript (delivery
// ticks, media, locations, reactions; private notes set apart), the
// details (labels, the bot's variables, sessions) and the composer. A
// refresh patches the transcript entry by entry, so the live region
// announces only what is new and the composer keeps its focus.

import { api, mediaURL } from "./api.js";
import { h, srOnly, duration, when, stateName } from "./dom.js";
import { t } from "./i18n.js";
import { Composer } from "./composer.js";

// Actions: id (the route), label, confirmation, shortcut, when it applies (c: conversation,
// mine: the caller holds it, sup: the caller is a supervisor).
export const ACTIONS = [
  { id: "takeover", label: () => t("action.takeover"), done: () => t("done.takeover"), shortcut: "o", when: (c) => c.state === "bot" || c.state === "asking" },
  { id: "transfer", label: () => t("action.transfer"), done: () => t("done.transfer"), shortcut: "t", when: (c, mine, sup) => c.state === "assigned" && (mine || sup) },
  { id: "assign", label: () => t("action.assign"), done: () => t("done.assign"), shortcut: "a", when: (c, mine, sup) => sup && (c.state === "waiting" || c.state === "assigned") },
  { id: "release", label: () => t("action.release"), done: () => t("done.release"), shortcut: "e", when: (c, mine, sup) => c.state === "assigned" && (mine || sup) },
  { id: "handback", label: () => t("action.handback"), done: () => t("done.handback"), shortcut: "b", when: (c, mine, sup) => c.state === "assigned" && (mine || sup) },
  { id: "close", label: () => t("action.close"), done: () => t("done.close"), shortcut: "c", when: (c, mine, sup) => c.state === "assigned" && (mine || sup) },
  { id: "reopen", label: () => t("action.reopen"), done: () => t("done.reopen"), shortcut: "u", when: (c) => c.state === "ended" },
];

const WINDOW_HOURS = 24; // WhatsApp's customer service window

export class ConversationView {
  constructor(app, pane) {
    this.app = app;
    this.pane = pane;
    this.conv = null;
    this.generation = 0;
    this.empty = pane.firstElementChild;
  }

  get id() { return this.conv?.id || ""; }

  close() {
    this.generation++;
    this.conv = null;
    this.pane.replaceChildren(this.empty);
  }

  async open(id) {
    const gen = ++this.generation;
    this.conv = null;
    this.pane.replaceChildren(h("p", { class: "empty", role: "status" }, t("conversation.loading")));
    let c;
    try {
      c = await api.conversation(id);
    } catch (err) {
      if (gen === this.generation) this.pane.replaceChildren(h("p", { class: "error", role: "alert" }, this.app.errorText(err)));
      return;
    }
    if (gen !== this.generation) return;
    this.build(c);
    this.apply(c);
    // On a narrow screen the list (and the row that had focus) is hidden
    // now: move focus to the conversation.
    const active = document.activeElement;
    if (!active || active === document.body || active.offsetParent === null) this.title.focus();
  }

  // refresh reloads the open conversation (id given: only if it is open).
  async refresh(id = this.id) {
    if (!this.conv || id !== this.conv.id) return null;
    const gen = this.generation;
    const c = await api.conversation(id).catch(() => null);
    if (c && gen === this.generation) this.apply(c);
    return c;
  }

  build(c) {
    this.entries = new Map(); // entry id -> {li, sig}
    this.title = h("h2", { id: "conv-title", tabindex: "-1" });
    this.meta = h("p", { class: "meta" });
    this.buttons = {};
    const group = h("div", { class: "actions", role: "group", "aria-label": t("conversation.actions") });
    for (const a of ACTIONS) {
      this.buttons[a.id] = h("button", { type: "button", id: `action-${a.id}`, "aria-keyshortcuts": a.shortcut.toUpperCase(), hidden: true, onclick: () => this.run(a.id) }, a.label());
      group.append(this.buttons[a.id]);
    }
    this.transcript = h("ol", { class: "transcript", "aria-label": t("conversation.transcript"), "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    this.labels = h("fieldset", { class: "label-set" }, h("legend", {}, t("details.labels")));
    this.variables = h("section", { "aria-label": t("details.variables") });
    this.sessions = h("section", { "aria-label": t("details.sessions") });
    const details = h("details", { class: "details", open: window.matchMedia("(min-width: 1100px)").matches },
      h("summary", {}, t("details.title")), this.labels, this.variables, this.sessions);
    this.composer = new Composer(this.app, c, () => this.refresh());
    const root = h("article", { class: "conv", "aria-labelledby": "conv-title" },
      h("header", { class: "conv-head" },
        h("button", { type: "button", class: "back", onclick: () => this.app.back() }, t("conversation.back")),
        h("div", {}, this.title, this.meta)),
      group,
      h("div", { class: "conv-body" }, this.transcript, details),
      this.composer.el);
    // Drag and drop a file anywhere on the conversation to attach it.
    root.addEventListener("dragover", (e) => {
      if (!e.dataTransfer.types.includes("Files")) return;
      e.preventDefault();
      root.classList.add("dropping");
    });
    root.addEventListener("dragleave", (e) => { if (!root.contains(e.relatedTarget)) root.classList.remove("dropping"); });
    root.addEventListener("drop", (e) => {
      root.classList.remove("dropping");
      if (!e.dataTransfer.files.length) return;
      e.preventDefault();
      this.composer.attach(e.dataTransfer.files[0]);
    });
    this.pane.replaceChildren(root);
  }

  // apply shows a fresh copy of the conversation.
  apply(c) {
    this.conv = c;
    this.composer.conv = c;
    const me = this.app.me;
    const mine = c.assigned_to === me.id;
    const sup = me.role === "supervisor";
    this.title.textContent = c.user?.name || c.user?.id || c.id;
    const win = windowEnd(c);
    const meta = [c.channel, c.platform, stateName(c.state)];
    if (c.assigned_to) meta.push(t("conversation.with", { agent: this.app.agentName(c.assigned_to) }));
    if (c.state === "waiting" && c.position) meta.push(t("list.position", { n: c.position }));
    this.meta.replaceChildren(meta.join(" · "));
    if (win) {
      const left = (win - Date.now()) / 1000;
      this.meta.append(" · ", left > 0
        ? h("span", { class: "countdown", "data-until": win.toISOString() }, t("conversation.window_left", { time: duration(left) }))
        : h("span", { class: "closed-window" }, t("conversation.window_closed")));
    }
    for (const a of ACTIONS) this.buttons[a.id].hidden = !a.when(c, mine, sup);
    // The picker shows when the window has closed by the clock, or when the
    // server refused a reply since the user last wrote.
    const lastUser = Date.parse((c.transcript || []).filter((e) => e.author === "user").at(-1)?.at) || 0;
    const refused = this.composer.refusedAt > lastUser;
    this.composer.showTemplates(refused || (c.platform === "whatsapp" && win !== null && win <= Date.now()));
    this.renderTranscript(c);
    this.renderDetails(c);
    this.app.conversationChanged(c);
    if (mine && c.unread > 0 && document.visibilityState === "visible") {
      api.read(c.id).then(() => this.app.markRead(c.id), () => {});
    }
  }

  renderTranscript(c) {
    const all = [...(c.transcript || []), ...(c.notes || []).map((n) => ({ ...n, kind: "note" }))];
    all.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const box = this.transcript;
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    let prev = null;
    for (const e of all) {
      const sig = JSON.stringify([e.text, e.delivery, e.delivery_error, e.attachments?.length]);
      let item = this.entries.get(e.id);
      if (!item || item.sig !== sig) {
        const li = this.entry(c, e);
        if (item) item.li.replaceWith(li);
        item = { li, sig };
        this.entries.set(e.id, item);
      }
      if (prev ? prev.nextSibling !== item.li : box.firstChild !== item.li) {
        if (prev) prev.after(item.li); else box.prepend(item.li);
      }
      prev = item.li;
    }
    if (atEnd) box.scrollTop = box.scrollHeight;
  }

  entry(c, e) {
    const note = e.kind === "note";
    const who = this.author(c, e);
    const body = [];
    if (note) body.push(h("span", { class: "note-tag" }, t("entry.note")), " ");
    switch (e.kind) {
      case "reaction":
        body.push(h("span", { class: "reaction" }, t("entry.reaction", { emoji: e.text || "" })));
        break;
      case "deleted":
        body.push(h("em", {}, t("entry.deleted")));
        break;
      case "location":
        body.push(location(e.location, e.text));
        break;
      default:
        (e.attachments || []).forEach((att, i) => body.push(attachment(c.id, e, att, i)));
        if (e.text && !(e.attachments?.length && e.text.startsWith("["))) body.push(h("span", { class: "text" }, e.text));
        else if (e.attachments?.length) {
          const caption = e.attachments.map((a) => a.caption).filter(Boolean).join(" ");
          if (caption) body.push(h("span", { class: "text" }, caption));
        }
    }
    if (e.choices?.length) body.push(h("span", { class: "choices" }, e.choices.map((ch) => h("span", { class: "choice" }, ch.title))));
    return h("li", { class: `entry from-${e.author}${note ? " note" : ""}`, "data-id": e.id },
      h("span", { class: "who" }, who),
      h("div", { class: "bubble" }, body),
      h("span", { class: "stamp" }, h("time", { datetime: e.at }, when(e.at)), tick(e)));
  }

  author(c, e) {
    switch (e.author) {
      case "user": return c.user?.name || c.user?.id || t("author.user");
      case "bot": return t("author.bot");
      case "system": return t("author.system");
      case "business": return t("author.business");
      default: return e.agent ? this.app.agentName(e.agent) : t("author.agent");
    }
  }

  renderDetails(c) {
    // Labels: checkboxes, rebuilt only when the set of labels changes so a
    // focused checkbox keeps its focus.
    const known = [...new Set([...this.app.labels, ...(c.labels || [])])].sort();
    const key = known.join("\n");
    if (this.labels.dataset.known !== key) {
      this.labels.dataset.known = key;
      this.labels.replaceChildren(h("legend", {}, t("details.labels")),
        ...(known.length ? known.map((l) => h("label", { class: "check" },
          h("input", { type: "checkbox", value: l, onchange: () => this.saveLabels() }), " ", l))
          : [h("p", { class: "note" }, t("details.no_labels"))]));
    }
    for (const box of this.labels.querySelectorAll("input")) box.checked = (c.labels || []).includes(box.value);

    const vars = Object.entries(c.variables || {});
    this.variables.replaceChildren(h("h3", {}, t("details.variables")),
      vars.length ? h("dl", {}, vars.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : h("p", { class: "note" }, t("details.none")));

    const sessions = sessionsOf(c.transcript || []);
    this.sessions.replaceChildren(h("h3", {}, t("details.sessions")),
      sessions.length
        ? h("ol", { class: "sessions" }, sessions.map((s) => h("li", {},
          sessionKind(s), s.agent ? ` (${this.app.agentName(s.agent)})` : "", " · ",
          when(s.start), s.end > s.start ? ` – ${when(s.end)}` : "")))
        : h("p", { class: "note" }, t("details.none")));
  }

  async saveLabels() {
    const labels = [...this.labels.querySelectorAll("input:checked")].map((b) => b.value);
    try {
      const c = await api.labels(this.conv.id, labels);
      this.app.conversationChanged({ ...this.conv, ...c });
    } catch (err) {
      this.app.toast(this.app.errorText(err));
      this.refresh();
    }
  }

  // run performs an action button's action.
  async run(action) {
    const c = this.conv;
    if (!c) return;
    if (action === "transfer" || action === "assign") {
      this.app.pickAgent(action, c);
      return;
    }
    try {
      await api.act(c.id, action);
      this.app.toast(ACTIONS.find((a) => a.id === action).done());
    } catch (err) {
      this.app.toast(this.app.errorText(err));
    }
    this.app.afterAction(c.id);
  }

  focusLabels() {
    this.labels.closest("details").open = true;
    this.labels.querySelector("input")?.focus();
  }
}

// windowEnd is when the user's messaging window closes: the server's
// window_ends_at when given, else 24 h after the user's last message
// (WhatsApp only; the other platforms' window depends on the channel).
function windowEnd(c) {
  if (c.window_ends_at) return new Date(c.window_ends_at);
  if (c.platform !== "whatsapp") return null;
  const last = (c.transcript || []).filter((e) => e.author === "user").at(-1);
  return last ? new Date(Date.parse(last.at) + WINDOW_HOURS * 3600e3) : null;
}

function sessionKind(s) {
  return s.kind === "agent" ? t("session.agent") : t("session.bot");
}

// sessionsOf reads who held the conversation from the loaded transcript:
// it is the bot's until an agent writes, that agent's until the bot or
// another agent writes, and so on; the user's messages belong to the
// session they fall in. (The API keeps session records for reports; the
// transcript is what an agent needs here.)
function sessionsOf(transcript) {
  const sessions = [];
  let current = null;
  for (const e of transcript) {
    const who = e.author === "agent" ? `agent:${e.agent}` : e.author === "bot" ? "bot" : null;
    if (who && (!current || current.who !== who)) {
      current = { who, kind: e.author, agent: e.agent, start: e.at, end: e.at };
      sessions.push(current);
    } else if (!current) {
      current = { who: "bot", kind: "bot", start: e.at, end: e.at };
      sessions.push(current);
    }
    current.end = e.at;
  }
  return sessions;
}

function tick(e) {
  let mark, label;
  switch (e.delivery) {
    case "sent": mark = "✓"; label = t("delivery.sent"); break;
    case "delivered": mark = "✓✓"; label = t("delivery.delivered"); break;
    case "read": mark = "✓✓"; label = t("delivery.read"); break;
    case "failed": mark = "!"; label = t("delivery.failed"); break;
    default: return null;
  }
  return h("span", { class: `tick ${e.delivery}`, role: "img", "aria-label": label, title: e.delivery_error || label }, mark,
    e.delivery === "failed" && e.delivery_error ? srOnly(": " + e.delivery_error) : null);
}

function location(loc, text) {
  if (!loc) return h("span", { class: "text" }, text || "");
  const coords = `${loc.latitude.toFixed(5)}, ${loc.longitude.toFixed(5)}`;
  return h("span", { class: "location" },
    h("strong", {}, loc.name || t("entry.location")), loc.address ? ` — ${loc.address}` : "", " ",
    // geo: opens the device's maps application; no map service is contacted.
    h("a", { href: `geo:${loc.latitude},${loc.longitude}` }, coords),
    loc.url ? [" ", h("a", { href: loc.url, target: "_blank", rel: "noopener noreferrer" }, t("entry.link"))] : null);
}

function attachment(convId, e, att, i) {
  const url = mediaURL(convId, e, i);
  const mime = att.mime_type || "";
  const label = att.caption || att.file_name || t("entry.attachment", { type: att.type });
  if (att.type === "image" || att.type === "sticker" || mime.startsWith("image/")) {
    return h("a", { href: url, target: "_blank", class: "media" }, h("img", { src: url, alt: label, loading: "lazy" }));
  }
  if (att.type === "audio" || att.type === "voice" || mime.startsWith("audio/")) {
    return h("audio", { src: url, controls: true, preload: "none", "aria-label": label });
  }
  if (att.type === "video" || mime.startsWith("video/")) {
    return h("video", { src: url, controls: true, preload: "metadata", "aria-label": label, class: "media" });
  }
  return h("a", { href: url, download: att.file_name || true, class: "document" }, "📄 ", label);
}
