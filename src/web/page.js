// What the runtime reads from the page. Each function answers with plain values and never
// throws (a field the browser does not have is left undefined).

const safe = (f) => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

// What does not change during a page's life is read once: Intl's time zone lookup alone
// costs more than the rest of track().
let fixed;

// Raw inputs of the context (see engine::context::RawContext), in this order: url, referrer,
// language, timeZone, screenWidth, userAgent, tzOffset.
export function rawContext() {
  const g = globalThis;
  fixed = fixed || [
    safe(() => g.navigator.language),
    safe(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
    safe(() => g.screen.width),
    safe(() => g.navigator.userAgent),
    safe(() => new Date().getTimezoneOffset()),
  ];
  // The URL can change in a single-page app; the referrer stays.
  return [safe(() => g.location.href), safe(() => g.document.referrer), ...fixed];
}

// Global Privacy Control: true when the browser sends the opt-out signal.
export function gpc() {
  return safe(() => globalThis.navigator.globalPrivacyControl === true) === true;
}

// The page URL's `tailor_force` parameter (forced variations for QA), or "".
export function forceParam() {
  return safe(() => new URLSearchParams(globalThis.location.search).get("tailor_force")) || "";
}

// `new RegExp(source, flags)`, or null for an invalid pattern.
export function makeRegExp(source, flags) {
  return safe(() => new RegExp(source, flags)) || null;
}

// Runs `f` on a later task: coalesces profile writes so that `track` never waits for them.
export function later(f) {
  setTimeout(f, 0);
}

// A RegExp exception (e.g. stack exhaustion while backtracking) is a non-match.
export function regexpTest(re, s) {
  try {
    return re.test(s);
  } catch (_) {
    return false;
  }
}

// Calls `f(arg)` in a microtask: listeners never run inside the runtime's own call, and
// an exception in one stays the page's (reported, not thrown into the SDK).
export function soon(f, arg) {
  queueMicrotask(() => {
    try {
      f(arg);
    } catch (e) {
      console.error(e);
    }
  });
}
