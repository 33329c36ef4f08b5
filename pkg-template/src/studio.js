// Studio and preview links (docs/sdk.md, "Studio and preview links"). A merchandiser's link
// carries `tailor_studio=ts1....` or `tailor_preview=tp1....`: the token leaves the address
// bar at once and is kept in this tab's sessionStorage, so a reload or a route change keeps
// the mode; `tailor_studio=off` (or the host's `exit()`) ends it. In either mode nothing is
// recorded (the core's part), and the Studio is loaded from the Tailor server: shoppers
// download none of it. Nothing here throws into the page or logs a token.

const MODES = ["studio", "preview"];
// ts1.<claims>.<signature> for the Studio, tp1.... for a preview.
const shape = (mode, token) => RegExp("^t" + mode[0] + "1\\.[\\w-]+\\.[\\w-]+$").test(token);
const clear = () => MODES.forEach((m) => sessionStorage.removeItem("tailor:" + m));

/**
 * Takes a Studio or preview token out of the page's URL (other parameters, the hash and
 * `history.state` kept) into sessionStorage. Answers `{ mode, token }` for this tab, or null.
 */
export function takeMode() {
  try {
    let found, taken;
    const kept = location.search.slice(1).split("&").filter((part) => {
      const [name, token] = part.split("=");
      const mode = MODES.find((m) => name == "tailor_" + m);
      if (!mode) return part;
      taken = 1;
      if (token == "off") found = null;
      else if (shape(mode, token)) found = { mode, token };
      else console.warn("[tailor] ignored " + name + ": not a " + mode + " token");
    });
    if (taken) history.replaceState(history.state, "", location.pathname + (kept.length ? "?" + kept.join("&") : "") + location.hash);
    if (found !== undefined) {
      clear();
      if (found) sessionStorage.setItem("tailor:" + found.mode, found.token);
      return found;
    }
    for (const mode of MODES) {
      const token = sessionStorage.getItem("tailor:" + mode);
      if (token && shape(mode, token)) return { mode, token };
    }
  } catch {}
  return null;
}

// The endpoint as an absolute URL without a trailing slash ("/": this page's origin).
const base = (config) => {
  const endpoint = config && config.endpoint;
  if (typeof endpoint != "string") throw new Error("config.endpoint is not set: Studio and preview links need the Tailor server");
  return new URL(endpoint, location.href).href.replace(/\/$/, "");
};

/**
 * Asks the Tailor server for a preview link's draft (the core verifies it), waiting 10 s at
 * most: `init` waits for it, so that the draft's changes are the first on the page. Answers
 * `[envelope text]`, or `[null, the problem]` with the server's message (expired, tampered,
 * another site). Never rejects.
 */
export async function fetchPreview(config, token) {
  let why;
  try {
    const r = await fetch(base(config) + "/v1/studio/" + encodeURIComponent(config.site) + "/preview?token=" + token, { signal: AbortSignal.timeout(10000) });
    const text = await r.text();
    if (r.ok) return [text];
    try {
      why = JSON.parse(text).message;
    } catch {}
    why = why || "the server answered HTTP " + r.status;
  } catch (e) {
    why = "the server did not answer: " + ((e && e.message) || e);
  }
  return [null, "preview: " + why + "; the live ruleset stays in use"];
}

/**
 * Loads the Studio from the Tailor server (`/studio/tailor-studio.js` on the endpoint's
 * origin) and calls its `open(host)`. A failure is a warning and a `status().problems` entry.
 */
export async function openStudio(tailor, { mode, token }, config, note, refused) {
  try {
    const endpoint = base(config);
    const host = {
      mode,
      token,
      endpoint,
      site: config.site,
      tailor,
      // The server's refusal, or the core's (the draft did not verify).
      previewError: refused || tailor.status.problems.find((p) => p.startsWith("preview: ")) || null,
      exit() {
        clear();
        location.reload();
      },
    };
    const studio = await import(/* webpackIgnore: true */ /* @vite-ignore */ new URL("/studio/tailor-studio.js", endpoint).href);
    await studio.open(host);
  } catch (e) {
    const text = "studio: the Studio could not open: " + ((e && e.message) || e);
    console.warn("[tailor] " + text);
    note(text);
  }
}
