// The agent API, same origin, authenticated by the session cookie. Every
// state-changing request carries the CSRF token of GET /api/v1/agents/me.
// A 401 from any route means the session ended: the handler set with
// onUnauthorized shows the sign-in view (drafts live in sessionStorage, so
// nothing typed is lost).

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "";
  }
}

let csrfToken = "";
let unauthorized = () => {};

export function setCsrfToken(token) { csrfToken = token || ""; }
export function onUnauthorized(fn) { unauthorized = fn; }

const SAFE = new Set(["GET", "HEAD"]);

// request sends one call. body: a plain object (sent as JSON) or FormData.
// It resolves to the decoded JSON answer (null for 204) and rejects with an
// ApiError carrying the answer's status and error code.
async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (!SAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, "network", err.message);
  }
  if (res.status === 401 && path !== SESSION) {
    unauthorized();
    throw new ApiError(401, "unauthorized");
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code, e.message);
  }
  return data;
}

const SESSION = "/api/v1/session";
const conv = (id, rest = "") => `/api/v1/conversations/${encodeURIComponent(id)}${rest}`;

// query writes the set fields of params as a query string.
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v != null && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const api = {
  signIn: (agent, password) => request("POST", SESSION, { agent, password }),
  signOut: () => request("DELETE", SESSION),
  me: () => request("GET", "/api/v1/agents/me"),
  presence: (status) => request("PUT", "/api/v1/agents/me/presence", { status }),
  agents: () => request("GET", "/api/v1/agents"),
  canned: () => request("GET", "/api/v1/canned"),
  queue: () => request("GET", "/api/v1/queue"),
  // claimNext takes the oldest waiting conversation, of one channel if given.
  claimNext: (channel) => request("POST", `/api/v1/queue/claim${query({ channel })}`),
  // list: filters state, channel, assigned_to, label, unread, q, limit, cursor.
  list: (filters) => request("GET", `/api/v1/conversations${query(filters)}`),
  conversation: (id) => request("GET", conv(id)),
  reply: (id, text) => request("POST", conv(id, "/messages"), { text }),
  note: (id, text) => request("POST", conv(id, "/notes"), { text }),
  // act: close, release, handback, reopen, takeover.
  act: (id, action) => request("POST", conv(id, `/${action}`)),
  read: (id) => request("POST", conv(id, "/read")),
  labels: (id, labels) => request("PUT", conv(id, "/labels"), { labels }),
  transfer: (id, agent) => request("POST", conv(id, "/transfer"), { agent }),
  assign: (id, agent) => request("POST", conv(id, "/assign"), { agent }),
  typing: (id) => request("POST", conv(id, "/typing")),
  template: (id, template) => request("POST", conv(id, "/template"), { template }),
  upload(id, file, caption) {
    const form = new FormData();
    form.append("file", file);
    if (caption) form.append("caption", caption);
    return request("POST", conv(id, "/attachments"), form);
  },
};

// mediaURL is where an attachment of a transcript entry is served: the
// WhatsApp media id, else "<entry id>.<index>".
export function mediaURL(convId, entry, index) {
  const att = entry.attachments[index];
  const mediaId = att.media_id || `${entry.id}.${index}`;
  return `/api/v1/media/${encodeURIComponent(convId)}/${encodeURIComponent(mediaId)}`;
}
