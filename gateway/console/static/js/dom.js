// Small DOM and formatting helpers. Markup is only ever built with DOM
// methods (the Content Security Policy requires Trusted Types, so an HTML
// string can never become markup).

import { lang, t } from "./i18n.js";

// h creates an element: h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", child).
// Attribute values false, null and undefined are left out; true sets an empty attribute.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

export const byId = (id) => document.getElementById(id);

// srOnly is text for assistive technology only.
export const srOnly = (text) => h("span", { class: "sr-only" }, text);

// formatter returns a cached Intl formatter: making one per row would slow
// down long lists.
const formatters = new Map();
function formatter(Kind, options) {
  const key = Kind.name + lang + JSON.stringify(options);
  if (!formatters.has(key)) formatters.set(key, new Kind(lang, options));
  return formatters.get(key);
}

// duration writes seconds as "3 min", "2 h 5 min" or "1 d 4 h".
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const unit = (n, u) => formatter(Intl.NumberFormat, { style: "unit", unit: u, unitDisplay: "short" }).format(n);
  if (s < 60) return unit(s, "second");
  const m = Math.floor(s / 60);
  if (m < 60) return unit(m, "minute");
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${unit(hr, "hour")} ${unit(m % 60, "minute")}`;
  return `${unit(Math.floor(hr / 24), "day")} ${unit(hr % 24, "hour")}`;
}

// when writes a time of day for today, a date and time otherwise.
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date().toDateString() === d.toDateString();
  return formatter(Intl.DateTimeFormat, today ? { timeStyle: "short" } : { dateStyle: "short", timeStyle: "short" }).format(d);
}

// stateName is the translated name of a conversation state.
export function stateName(state) {
  switch (state) {
    case "bot": return t("state.bot");
    case "asking": return t("state.asking");
    case "waiting": return t("state.waiting");
    case "assigned": return t("state.assigned");
    case "ended": return t("state.ended");
    case "choosing": return t("state.choosing");
    case "phone": return t("state.phone");
    case "calling": return t("state.calling");
    default: return state;
  }
}

// presenceName is the translated name of an agent's presence.
export function presenceName(p) {
  switch (p) {
    case "online": return t("presence.online");
    case "away": return t("presence.away");
    default: return t("presence.offline");
  }
}

// debounce runs fn once, wait ms after the last call.
export function debounce(fn, wait) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}
