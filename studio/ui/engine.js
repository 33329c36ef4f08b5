// The Studio's Wasm module (studio/src): the engine the shopper's SDK runs, for validation,
// decisions and explanations, and the part of the Studio's UI written in Rust. Loaded from
// beside this script, wherever the server serves it; every panel waits for it.
import init, { StudioEngine } from "./gen/studio_engine.js";

let ready = null;

/** The engine, once its module is compiled: { validate, decide, matches, pageContext }. */
export function loadEngine() {
  ready ??= init({ module_or_path: new URL("./tailor-studio_bg.wasm", import.meta.url) }).then(() => new StudioEngine());
  return ready;
}

/** The page context as the SDK captures it, from this page. */
export function pageContext(engine, now) {
  const raw = {
    url: location.href,
    referrer: document.referrer,
    language: navigator.language,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screenWidth: screen.width,
    userAgent: navigator.userAgent,
    tzOffset: new Date(now).getTimezoneOffset(),
  };
  return JSON.parse(engine.pageContext(raw, now));
}
