// The Studio's calls to the reference server (docs/api.md, "Studio"), each with the Studio
// token. A refusal becomes an Error carrying the server's own message, its code and, for a
// draft, its errors by path, so the UI shows what the server said.

/** What a `ts1.` token says about itself (unverified: the server checks it on every call). */
export function readClaims(token) {
  const m = /^ts1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(String(token || ""));
  if (!m) return null;
  try {
    const b64 = m[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const lines = new TextDecoder().decode(bytes).split("\n");
    return { site: lines[0], role: lines[1], expiresAt: Number(lines[2]), keyId: lines[3], who: lines[4] || null };
  } catch {
    return null;
  }
}

export class ServerError extends Error {
  constructor(message, { status, code, errors } = {}) {
    super(message);
    this.name = "ServerError";
    this.status = status;
    this.code = code;
    this.errors = errors || [];
  }
}

export function client(endpoint, site, token) {
  const base = new URL(endpoint || "/", location.href);
  const s = encodeURIComponent(site);
  async function call(method, path, body) {
    let r;
    try {
      r = await fetch(new URL(path, base), {
        method,
        credentials: "omit",
        cache: "no-store",
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    } catch (e) {
      throw new ServerError(`the Tailor server at ${base.origin} did not answer (${e.message}); is it running, and does it allow this shop's origin (--cors-origin)?`);
    }
    let data = null;
    if (r.status !== 204) {
      try {
        data = await r.json();
      } catch {
        data = null;
      }
    }
    if (!r.ok) {
      throw new ServerError(data?.message || `${method} ${path}: HTTP ${r.status}`, { status: r.status, code: data?.error, errors: data?.errors });
    }
    return data;
  }
  const q = encodeURIComponent;
  return {
    base,
    drafts: () => call("GET", `/v1/studio/${s}/drafts`),
    draft: (name) => call("GET", `/v1/studio/${s}/drafts/${q(name)}`),
    saveDraft: (name, doc) => call("PUT", `/v1/studio/${s}/drafts/${q(name)}`, doc),
    publish: (name) => call("POST", `/v1/studio/${s}/drafts/${q(name)}/publish`),
    versions: () => call("GET", `/v1/studio/${s}/versions`),
    diff: (v, against) => call("GET", `/v1/studio/${s}/versions/${v}/diff?against=${against}`),
    rollback: (v) => call("POST", `/v1/studio/${s}/versions/${v}/rollback`),
    audit: () => call("GET", `/v1/studio/${s}/audit?limit=1000`),
    preview: (draft, path) => call("POST", `/v1/studio/${s}/previews`, { draft, path }),
    results: (key) => call("GET", `/v1/admin/results/${s}?experiment=${q(key)}`),
    /** The published envelope shoppers get now (public), or null when there is none. */
    async current() {
      const r = await fetch(new URL(`/v1/rulesets/${s}`, base), { credentials: "omit", cache: "no-store" });
      if (r.status === 404) return null;
      if (!r.ok) throw new ServerError(`GET /v1/rulesets/${site}: HTTP ${r.status}`, { status: r.status });
      return r.json();
    },
  };
}
