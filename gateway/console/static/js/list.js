// The conversation lists: Waiting (GET /api/v1/queue, filtered here), and
// Mine, All, Missed, Closed (GET /api/v1/conversations, filtered by the
// server and paged with its cursor). Rows are rendered a chunk at a time as
// the agent scrolls, and the next page is fetched when the rendered rows
// run out, so a list of thousands stays responsive. The end is checked from
// the scroll position, on scroll, resize and after each render, rather than
// by an IntersectionObserver, which reports only changes: no missed report
// can leave a list stuck.

import { api } from "./api.js";
import { h, srOnly, duration, when, stateName } from "./dom.js";
import { t } from "./i18n.js";

export const VIEWS = ["waiting", "mine", "all", "missed", "closed"];

const PAGE = 50; // rows per request and per rendering chunk

export function viewName(view) {
  switch (view) {
    case "waiting": return t("list.waiting");
    case "mine": return t("list.mine");
    case "all": return t("list.all");
    case "missed": return t("list.missed");
    default: return t("list.closed");
  }
}

// serverFilters are the query parameters of a view (Waiting has its own route).
function serverFilters(view, f) {
  const base = { channel: f.channel, label: f.label, unread: f.unread ? "true" : "", q: f.q, assigned_to: f.agent, limit: PAGE };
  switch (view) {
    case "mine": return { ...base, state: "assigned", assigned_to: "me" };
    case "missed": return { ...base, state: "missed" };
    case "closed": return { ...base, state: "ended" };
    default: return base;
  }
}

// searchable is the text a search matches in the Waiting list (the
// server's q covers name, id, labels and the last messages; the line has
// the last one).
function searchable(c) {
  return [c.user?.name, c.user?.id, c.last_message?.text, ...(c.labels || [])].join(" ").toLowerCase();
}

export class ListView {
  constructor(app, ul, status, pane) {
    this.app = app;
    this.ul = ul;
    this.status = status;
    this.view = "";
    this.items = [];
    this.rows = new Map(); // conversation id -> <li>
    this.cursor = "";
    this.generation = 0; // a load newer than the answer being handled wins
    this.loading = false;
    // Render more (or fetch the next page) when the end of the list nears:
    // as the agent scrolls, when the window changes size, and after each
    // render, until the rows fill the pane.
    this.pane = pane;
    const check = () => this.fill();
    pane.addEventListener("scroll", check, { passive: true });
    window.addEventListener("resize", check, { passive: true });
  }

  // nearEnd tells whether the end of the rendered rows is within 400px of
  // sight (never while the pane is hidden).
  nearEnd() {
    const p = this.pane;
    return p.clientHeight > 0 && p.scrollHeight - p.scrollTop - p.clientHeight < 400;
  }

  fill() {
    if (this.nearEnd()) this.more();
  }

  // show switches to a view and loads it.
  show(view) {
    this.view = view;
    this.ul.setAttribute("aria-label", viewName(view));
    return this.load();
  }

  // matches tells whether a conversation belongs in the current view with
  // the current filters; undefined when only the server can tell (search).
  matches(c) {
    const f = this.app.filters;
    if (f.channel && c.channel !== f.channel) return false;
    if (f.label && !(c.labels || []).includes(f.label)) return false;
    if (f.unread && !(c.unread > 0)) return false;
    if (f.agent && this.view !== "mine" && this.view !== "waiting" && c.assigned_to !== f.agent) return false;
    let ok;
    switch (this.view) {
      case "waiting": ok = c.state === "waiting"; break;
      case "mine": ok = c.state === "assigned" && c.assigned_to === this.app.me.id; break;
      case "missed": ok = c.state === "ended" && c.missed === true; break;
      case "closed": ok = c.state === "ended"; break;
      default: ok = true;
    }
    if (ok && f.q && this.view !== "waiting") return undefined;
    if (ok && f.q) return searchable(c).includes(f.q.toLowerCase());
    return ok;
  }

  // load replaces the rows with the view's first page.
  async load() {
    const gen = ++this.generation;
    this.loading = false; // a page still coming for an older load is dropped
    this.rows.clear();
    this.ul.replaceChildren();
    this.items = [];
    this.cursor = "";
    if (this.view === "waiting") {
      this.items = this.app.waiting.filter((c) => this.matches(c));
      this.more();
      return;
    }
    if (await this.fetch(gen)) this.more();
  }

  // fetch adds the view's next page (the first while cursor is empty) to
  // the loaded rows; false when it failed or a newer load took over.
  async fetch(gen) {
    this.loading = true;
    this.setStatus(t("list.loading"));
    try {
      const page = await api.list({ ...serverFilters(this.view, this.app.filters), cursor: this.cursor });
      if (gen !== this.generation) return false;
      const known = new Set(this.items.map((c) => c.id));
      this.items.push(...(page.conversations || []).filter((c) => !known.has(c.id)));
      this.cursor = page.next_cursor || "";
      return true;
    } catch (err) {
      if (gen === this.generation) this.setStatus(this.app.errorText(err));
      return false;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  // more renders the next chunk of loaded rows, or fetches the next page.
  async more() {
    if (this.loading) return;
    const start = this.rows.size;
    if (start < this.items.length) {
      const frag = document.createDocumentFragment();
      for (const c of this.items.slice(start, start + PAGE)) {
        if (this.rows.has(c.id)) continue;
        const li = this.row(c);
        this.rows.set(c.id, li);
        frag.append(li);
      }
      this.ul.append(frag);
      this.setStatus("");
      this.fill();
    } else if (this.cursor) {
      if (await this.fetch(this.generation)) this.more();
    } else {
      this.setStatus(this.items.length === 0 ? t("list.empty") : "");
    }
  }

  setStatus(text) { this.status.textContent = text; }

  // update shows a fresh copy of a conversation: in place when its last
  // activity did not change, at the top when it did (the lists are newest
  // activity first), or out of the view when it no longer belongs there.
  // The Waiting list keeps the line's order; setWaiting changes it.
  update(c) {
    const i = this.items.findIndex((x) => x.id === c.id);
    const fits = this.matches(c);
    if (fits === false) {
      if (i >= 0) this.items.splice(i, 1);
      this.rows.get(c.id)?.remove();
      this.rows.delete(c.id);
      if (this.items.length === 0) this.setStatus(t("list.empty"));
      else this.fill();
      return;
    }
    const moved = i >= 0 && c.last_activity && c.last_activity !== this.items[i].last_activity;
    if (this.view === "waiting" || fits === undefined || (i >= 0 && !moved)) {
      if (i >= 0) {
        this.items[i] = c;
        this.replaceRow(c);
      }
      return;
    }
    // New here, or newer activity: to the top, unless older than the top
    // (then it belongs further down, where paging will bring it).
    if (i < 0 && this.items.length && !(c.last_activity >= this.items[0].last_activity)) return;
    if (i >= 0) this.items.splice(i, 1);
    this.items.unshift(c);
    const old = this.rows.get(c.id);
    const li = this.row(c);
    this.rows.set(c.id, li);
    const hadFocus = old && old.contains(document.activeElement);
    old?.remove();
    this.ul.prepend(li);
    if (hadFocus) li.querySelector("a").focus();
    this.setStatus("");
  }

  replaceRow(c) {
    const old = this.rows.get(c.id);
    if (!old || old.dataset.sig === signature(c)) return;
    const li = this.row(c);
    const hadFocus = old.contains(document.activeElement);
    old.replaceWith(li);
    this.rows.set(c.id, li);
    if (hadFocus) li.querySelector("a").focus();
  }

  // setWaiting shows a fresh waiting line, keeping rows that did not change.
  setWaiting() {
    if (this.view !== "waiting") return;
    this.items = this.app.waiting.filter((c) => this.matches(c));
    const keep = new Set(this.items.map((c) => c.id));
    for (const [id, li] of this.rows) {
      if (!keep.has(id)) { li.remove(); this.rows.delete(id); }
    }
    let prev = null;
    for (const c of this.items.slice(0, Math.max(this.rows.size, PAGE))) {
      this.replaceRow(c);
      let li = this.rows.get(c.id);
      if (!li) { li = this.row(c); this.rows.set(c.id, li); }
      if (prev ? prev.nextSibling !== li : this.ul.firstChild !== li) {
        if (prev) prev.after(li); else this.ul.prepend(li);
      }
      prev = li;
    }
    this.setStatus(this.items.length === 0 ? t("list.empty") : "");
    this.fill();
  }

  // markOpen flags the row of the open conversation.
  markOpen(id) {
    for (const a of this.ul.querySelectorAll("a[aria-current]")) a.removeAttribute("aria-current");
    this.rows.get(id)?.querySelector("a").setAttribute("aria-current", "true");
  }

  // move focuses the next (+1) or previous (-1) row.
  move(delta) {
    const links = [...this.ul.querySelectorAll("a")];
    if (links.length === 0) return;
    let i = links.indexOf(document.activeElement);
    if (i < 0) i = links.findIndex((a) => a.hasAttribute("aria-current"));
    const next = links[Math.min(links.length - 1, Math.max(0, i < 0 ? 0 : i + delta))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  row(c) {
    const name = c.user?.name || c.user?.id || c.id;
    const meta = [c.channel, stateName(c.state)];
    if (c.assigned_to && this.view !== "mine") meta.push(t("list.assigned_to", { agent: this.app.agentName(c.assigned_to) }));
    if (c.missed) meta.push(t("list.missed_mark"));
    const li = h("li", { "data-id": c.id },
      h("a", { href: `#/${this.view}/${encodeURIComponent(c.id)}`, class: "row", "aria-current": c.id === this.app.openId ? "true" : false },
        h("span", { class: "row-top" },
          h("span", { class: "name" }, name),
          c.unread > 0 ? h("span", { class: "badge" }, String(c.unread), srOnly(" " + t("list.unread"))) : null,
          h("time", { datetime: c.last_activity || c.last_message?.at || "" }, when(c.last_activity || c.last_message?.at))),
        h("span", { class: "row-meta" }, meta.join(" · ")),
        c.state === "waiting" && c.waiting_since
          ? h("span", { class: "row-wait" },
            c.position ? t("list.position", { n: c.position }) + " · " : "",
            h("span", { class: "waited", "data-since": c.waiting_since }, t("list.waited", { time: duration((Date.now() - Date.parse(c.waiting_since)) / 1000) })))
          : null,
        c.last_message?.text ? h("span", { class: "row-text" }, c.last_message.text) : null,
        (c.labels || []).length ? h("span", { class: "labels" }, c.labels.map((l) => h("span", { class: "label" }, l))) : null));
    li.dataset.sig = signature(c);
    return li;
  }
}

// signature changes when anything a row shows changes.
function signature(c) {
  return JSON.stringify([c.user, c.state, c.position, c.unread, c.last_message, c.labels, c.assigned_to, c.waiting_since]);
}
