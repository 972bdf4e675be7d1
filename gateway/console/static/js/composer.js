// The composer: a reply, a private note, a file (button or drag and drop)
// with the text as its caption, canned responses by /shortcut, the typing
// indicator, and the template picker when the messaging window is closed.
// What is typed is kept in sessionStorage per conversation, so a reload or
// an ended session does not lose it.

import { api } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

const DRAFT = "switchboard.draft.";
const TYPING_EVERY_MS = 10000; // platforms show "typing" for 20-25 s

export function clearDrafts() {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT)) sessionStorage.removeItem(key);
}

export class Composer {
  // conv: the conversation; onSent(): after a reply, note or template went out.
  constructor(app, conv, onSent) {
    this.app = app;
    this.conv = conv;
    this.onSent = onSent;
    this.file = null;
    this.lastTyping = 0;
    this.refusedAt = 0; // when the server last said the window is closed
    this.matches = [];
    this.active = -1;

    this.text = h("textarea", {
      id: "composer-text", rows: 3, placeholder: t("composer.placeholder"),
      "aria-describedby": "composer-hint", "aria-autocomplete": "list", "aria-controls": "canned-list",
      "aria-keyshortcuts": "R",
      oninput: () => this.changed(), onkeydown: (e) => this.key(e),
      // Enter without Shift was handled on keydown; a synthetic keypress
      // (some automation sends one apart) must not add a new line.
      onkeypress: (e) => { if (e.key === "Enter" && !e.shiftKey) e.preventDefault(); },
    });
    this.text.value = sessionStorage.getItem(DRAFT + conv.id) || "";
    this.canned = h("ul", { id: "canned-list", role: "listbox", class: "canned", "aria-label": t("composer.canned"), hidden: true });
    this.fileInput = h("input", { type: "file", hidden: true, onchange: () => this.attach(this.fileInput.files[0]) });
    this.chip = h("p", { class: "attachment", hidden: true });
    this.error = h("p", { class: "error", role: "alert" });
    this.picker = h("div", { class: "templates", role: "group", "aria-label": t("template.label"), hidden: true });
    this.el = h("form", { class: "composer", "aria-label": t("composer.label"), onsubmit: (e) => { e.preventDefault(); this.send(); } },
      this.picker,
      this.canned,
      this.chip,
      h("label", { for: "composer-text", class: "sr-only" }, t("composer.message")),
      this.text,
      h("p", { id: "composer-hint", class: "hint" }, t("composer.hint")),
      this.error,
      h("div", { class: "composer-actions" },
        this.fileInput,
        h("button", { type: "button", id: "composer-upload", "aria-keyshortcuts": "F", onclick: () => this.fileInput.click() }, t("composer.upload")),
        h("span", { class: "spacer" }),
        h("button", { type: "button", id: "composer-note", "aria-keyshortcuts": "Control+Enter", onclick: () => this.addNote() }, t("composer.note")),
        h("button", { type: "submit", class: "primary", id: "composer-send" }, t("composer.send"))));
  }

  focus() { this.text.focus(); }

  // attach holds a file to send with the next Send.
  attach(file) {
    this.file = file || null;
    this.fileInput.value = "";
    if (!this.file) { this.chip.hidden = true; return; }
    this.chip.replaceChildren(
      t("composer.attached", { name: this.file.name }), " ",
      h("button", { type: "button", onclick: () => { this.attach(null); this.focus(); } }, t("composer.remove_file")));
    this.chip.hidden = false;
    this.focus();
  }

  changed() {
    sessionStorage.setItem(DRAFT + this.conv.id, this.text.value);
    this.suggest();
    const c = this.conv;
    if (this.text.value.trim() && c.state === "assigned" && c.assigned_to === this.app.me.id && Date.now() - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = Date.now();
      api.typing(c.id).catch(() => {}); // best effort: a typing indicator that fails is not worth a message
    }
  }

  // token is the "/word" being typed before the caret, if any.
  token() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const m = before.match(/(^|\s)\/([\w-]*)$/);
    return m ? { word: m[2], start: before.length - m[2].length - 1 } : null;
  }

  suggest() {
    const tok = this.token();
    const word = tok ? tok.word.toLowerCase() : null;
    this.matches = word === null ? [] : this.app.canned.filter((c) => c.shortcut.toLowerCase().startsWith(word)).slice(0, 8);
    this.active = this.matches.length ? 0 : -1;
    this.renderCanned();
  }

  renderCanned() {
    this.canned.hidden = this.matches.length === 0;
    this.text.setAttribute("aria-expanded", String(!this.canned.hidden));
    this.canned.replaceChildren(...this.matches.map((c, i) => h("li", {
      id: `canned-${i}`, role: "option", "aria-selected": String(i === this.active),
      onmousedown: (e) => { e.preventDefault(); this.active = i; this.insertCanned(); },
    }, h("strong", {}, "/" + c.shortcut), " ", c.text)));
    if (this.active >= 0) this.text.setAttribute("aria-activedescendant", `canned-${this.active}`);
    else this.text.removeAttribute("aria-activedescendant");
  }

  // insertCanned replaces "/word" with the chosen response, placeholders filled.
  insertCanned() {
    const tok = this.token();
    const c = this.matches[this.active];
    if (!tok || !c) return;
    const text = c.text
      .replaceAll("{user.name}", this.conv.user?.name || "")
      .replaceAll("{agent}", this.app.me.name || this.app.me.id);
    const v = this.text.value;
    const end = this.text.selectionStart;
    this.text.value = v.slice(0, tok.start) + text + v.slice(end);
    this.text.selectionStart = this.text.selectionEnd = tok.start + text.length;
    this.matches = [];
    this.renderCanned();
    this.changed();
  }

  key(e) {
    if (!this.canned.hidden) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = this.matches.length;
        this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.renderCanned();
        return;
      }
      if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey) {
        e.preventDefault();
        this.insertCanned();
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.matches = [];
        this.renderCanned();
        return;
      }
    }
    if (e.key === "Enter" && !e.isComposing) {
      if (e.ctrlKey || e.metaKey) { e.preventDefault(); this.addNote(); }
      else if (!e.shiftKey) { e.preventDefault(); this.send(); }
    }
  }

  // done clears what was sent.
  done() {
    this.text.value = "";
    sessionStorage.removeItem(DRAFT + this.conv.id);
    this.attach(null);
    this.error.textContent = "";
    this.onSent();
  }

  async send() {
    const text = this.text.value.trim();
    if (!text && !this.file) return;
    this.error.textContent = "";
    try {
      if (this.file) await api.upload(this.conv.id, this.file, text);
      else await api.reply(this.conv.id, text);
      this.done();
    } catch (err) {
      if (err.code === "window_closed") {
        this.refusedAt = Date.now();
        this.showTemplates(true);
      }
      this.error.textContent = this.app.errorText(err);
    }
  }

  async addNote() {
    const text = this.text.value.trim();
    if (!text) return;
    try {
      await api.note(this.conv.id, text);
      this.done();
    } catch (err) {
      this.error.textContent = this.app.errorText(err);
    }
  }

  // showTemplates shows (or hides) the template picker: the channel's
  // templates, or a field for the name when the configuration names none.
  showTemplates(show) {
    this.picker.hidden = !show;
    if (!show || this.picker.childElementCount) return;
    const names = templateNames(this.conv, this.app.me);
    const field = names.length
      ? h("select", { id: "template-name" }, names.map((n) => h("option", { value: n }, n)))
      : h("input", { id: "template-name", autocomplete: "off", spellcheck: "false" });
    this.picker.append(
      h("p", { class: "note" }, t("template.why")),
      h("label", { for: "template-name" }, t("template.label")), " ", field, " ",
      h("button", { type: "button", class: "primary", onclick: () => this.sendTemplate(field.value.trim()) }, t("template.send")));
  }

  async sendTemplate(name) {
    if (!name) return;
    this.error.textContent = "";
    try {
      await api.template(this.conv.id, name);
      this.picker.hidden = true;
      this.onSent();
    } catch (err) {
      this.error.textContent = this.app.errorText(err);
    }
  }
}

// templateNames are the names of the conversation's channel's templates
// (GET /api/v1/agents/me).
function templateNames(conv, me) {
  return me.templates?.[conv.channel] || [];
}
