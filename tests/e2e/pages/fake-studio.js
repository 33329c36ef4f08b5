// A stand-in for the Studio module, served at /studio/tailor-studio.js by
// tests/e2e/preview.test.mjs: it records the host the SDK opened it with.
export function open(host) {
  window.studioHosts = (window.studioHosts || []).concat([host]);
  window.studioHost = host;
}
