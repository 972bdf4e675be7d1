// Texts: one JSON catalogue per language under /console/i18n/. The
// language follows the browser's preferences; English fills any gap.

const LANGUAGES = ["en", "es", "pt", "fr"];

let texts = {};
let fallback = {};
export let lang = "en";

// pickLanguage returns the first supported language of the browser's list.
function pickLanguage(preferred) {
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

async function fetchCatalogue(code) {
  const res = await fetch(`/console/i18n/${code}.json`, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`catalogue ${code}: HTTP ${res.status}`);
  return res.json();
}

// loadTexts loads English and the browser's language, then translates
// the static markup.
export async function loadTexts(preferred = navigator.languages || [navigator.language]) {
  lang = pickLanguage(preferred);
  fallback = await fetchCatalogue("en");
  texts = lang === "en" ? fallback : await fetchCatalogue(lang).catch(() => fallback);
  document.documentElement.lang = lang;
  translate(document);
}

// t returns the text of key with {name} placeholders filled from vars.
export function t(key, vars = {}) {
  const s = texts[key] ?? fallback[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// translate fills the markup's data-i18n* attributes: the text, the
// accessible name, the placeholder.
function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
