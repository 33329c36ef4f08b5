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

// Raw inputs of the context (see engine::context::RawContext).
export function rawContext() {
  const g = globalThis;
  fixed = fixed || {
    language: safe(() => g.navigator.language),
    timeZone: safe(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
    screenWidth: safe(() => g.screen.width),
    userAgent: safe(() => g.navigator.userAgent),
    tzOffset: safe(() => new Date().getTimezoneOffset()),
  };
  // The URL can change in a single-page app; the referrer stays.
  return { ...fixed, url: safe(() => g.location.href), referrer: safe(() => g.document.referrer) };
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
