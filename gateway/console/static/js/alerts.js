// Alerts for new work: a browser notification (after the agent allowed
// them) and a short tone made with WebAudio (no sound file). Each can be
// switched off; the choices are kept in localStorage.

const KEY = "switchboard.settings";

export const settings = { notify: false, sound: true };
try { Object.assign(settings, JSON.parse(localStorage.getItem(KEY) || "{}")); } catch { /* keep defaults */ }

export function saveSettings() {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

// askPermission asks for notifications; it must run from a click.
export async function askPermission() {
  if (!("Notification" in window)) return "unsupported";
  if (Notification.permission === "default") return Notification.requestPermission();
  return Notification.permission;
}

let audio = null;

// unlockAudio creates the audio context from a user gesture: browsers
// keep one created without a gesture muted.
export function unlockAudio() {
  if (!audio && window.AudioContext) audio = new AudioContext();
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
}

// beep plays two short rising tones (about 0.3 s).
export function beep() {
  if (!settings.sound || !audio || audio.state !== "running") return;
  const start = audio.currentTime;
  for (const [offset, freq] of [[0, 660], [0.15, 880]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
    osc.connect(gain).connect(audio.destination);
    osc.start(start + offset);
    osc.stop(start + offset + 0.15);
  }
}

// notify shows a browser notification when allowed and the page is not
// in view; onClick runs when the agent clicks it.
export function notify(title, body, tag, onClick) {
  if (!settings.notify || !("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  const n = new Notification(title, { body, tag });
  n.onclick = () => {
    window.focus();
    onClick();
    n.close();
  };
}
