// The live event stream, GET /api/v1/events (server-sent events).
//
// EventSource reconnects by itself after a dropped connection and then
// sends Last-Event-ID, so the server resumes where the stream stopped. It
// gives up only when the server answers with an error status (401 when the
// session ended, 503 while the gateway restarts): then a new EventSource is
// opened after a pause, which cannot carry Last-Event-ID, so onResync asks
// the app to reload what it shows.

const EVENT_NAMES = [
  "conversation.waiting",
  "conversation.message",
  "conversation.claimed",
  "conversation.ended",
  "message.failed",
];

const RETRY_MS = [1000, 2000, 5000, 10000, 30000];

// connect opens the stream. handlers: onEvent(name, notice), onStatus("live"
// | "reconnecting" | "offline"), onResync() after a fresh connection (the
// first one included), check() -> Promise<boolean> whether the session is
// still valid (it is not retried when false).
export function connect({ onEvent, onStatus, onResync, check }) {
  let source = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function open() {
    let fresh = true;
    source = new EventSource("/api/v1/events");
    source.addEventListener("open", () => {
      attempt = 0;
      onStatus("live");
      if (fresh) onResync();
      fresh = false;
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        let notice;
        try { notice = JSON.parse(e.data); } catch { return; }
        onEvent(name, notice);
      });
    }
    source.addEventListener("error", () => {
      if (stopped) return;
      if (source.readyState !== EventSource.CLOSED) {
        onStatus("reconnecting");
        return;
      }
      onStatus("offline");
      const wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)];
      timer = setTimeout(async () => {
        if (stopped) return;
        if (await check()) open();
      }, wait);
    });
  }

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}
