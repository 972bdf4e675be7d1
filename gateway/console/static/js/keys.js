// Keyboard shortcuts, miniflux style: single keys outside text fields,
// "?" lists them all. The help dialog is built from the same table, so the
// two cannot disagree. Actions are done by clicking their button, so a
// shortcut does nothing that the visible interface would not allow.

import { byId, h } from "./dom.js";
import { t } from "./i18n.js";
import { ACTIONS } from "./conversation.js";
import { VIEWS } from "./list.js";

// clickIfShown clicks a button when it is present and not hidden.
function clickIfShown(id) {
  const b = byId(id);
  if (b && !b.hidden && !b.disabled && b.offsetParent !== null) b.click();
}

function table(app) {
  return [
    { keys: ["?"], text: t("help.help"), run: () => byId("open-help").click() },
    { keys: ["/"], text: t("help.search"), run: () => byId("search").focus() },
    { keys: ["j"], text: t("help.next"), run: () => app.list.move(1) },
    { keys: ["k"], text: t("help.previous"), run: () => app.list.move(-1) },
    { keys: ["1", "2", "3", "4", "5"], text: t("help.lists"), run: (k) => app.go(VIEWS[Number(k) - 1]) },
    { keys: ["n"], text: t("action.claim_next"), run: () => byId("claim-next").click() },
    { keys: ["r"], text: t("help.reply"), run: () => byId("composer-text")?.focus() },
    { keys: ["f"], text: t("composer.upload"), run: () => clickIfShown("composer-upload") },
    { keys: ["l"], text: t("help.labels"), run: () => app.conversation.conv && app.conversation.focusLabels() },
    ...ACTIONS.map((a) => ({ keys: [a.shortcut], text: a.label(), run: () => clickIfShown(`action-${a.id}`) })),
    { keys: ["p"], text: t("help.presence"), run: () => byId("presence").focus() },
    { keys: ["g"], text: t("colleagues.title"), run: () => byId("open-colleagues").click() },
    { keys: ["s"], text: t("settings.title"), run: () => byId("open-settings").click() },
    { keys: ["Escape"], text: t("help.back"), run: () => app.back() },
  ];
}

// Keys handled inside the composer (listed, not bound here).
function composerRows() {
  return [
    [["Enter"], t("composer.send")],
    [["Shift", "Enter"], t("help.newline")],
    [["Ctrl", "Enter"], t("composer.note")],
    [["/"], t("help.canned")],
  ];
}

function typing(el) {
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

export function bindKeys(app) {
  // A handled key must not also type its character where focus moved
  // (browsers skip the keypress after preventDefault; synthetic input, as
  // automation sends it, may not).
  let handled = false;
  document.addEventListener("keypress", (e) => {
    if (handled) e.preventDefault();
    handled = false;
  }, true);
  document.addEventListener("keydown", (e) => {
    handled = false;
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    if (document.querySelector("dialog[open]") || byId("app").hidden) return;
    if (e.key === "Escape" && typing(e.target)) {
      e.target.blur();
      return;
    }
    if (typing(e.target)) return;
    const row = table(app).find((r) => r.keys.includes(e.key));
    if (!row) return;
    e.preventDefault();
    handled = true;
    row.run(e.key);
  });
}

// fillHelp writes the shortcut table into the help dialog.
export function fillHelp(app, tableEl) {
  const kbd = (keys, sep) => keys.flatMap((k, i) => [i ? sep : null, h("kbd", {}, k)]);
  tableEl.replaceChildren(
    h("caption", {}, t("help.caption")),
    h("tbody", {},
      table(app).map((r) => h("tr", {}, h("th", { scope: "row" }, kbd(r.keys, " ")), h("td", {}, r.text))),
      h("tr", {}, h("th", { scope: "colgroup", colspan: "2", class: "sub" }, t("help.in_composer"))),
      composerRows().map(([keys, text]) => h("tr", {}, h("th", { scope: "row" }, kbd(keys, " + ")), h("td", {}, text)))));
}
