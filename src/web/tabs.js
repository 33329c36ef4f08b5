// Several tabs of one origin: what one tab did (forget, a consent change, a saved profile)
// is told to the others at once, as a short string. BroadcastChannel, else the storage
// event of a localStorage key (Safari before 15.4). A tab does not hear its own messages.
export function tabs(name, f) {
  const hear = (m) => {
    try {
      f(m);
    } catch {}
  };
  let ch;
  try {
    ch = new BroadcastChannel(name);
    ch.onmessage = (e) => hear(String(e.data));
    // In Node (tests, server-side code using the slim entry) an open channel would keep the
    // process alive: it must not.
    if (ch.unref) ch.unref();
  } catch {
    ch = null;
    try {
      addEventListener("storage", (e) => e.key === name && e.newValue && hear(e.newValue));
    } catch {}
  }
  return (m) => {
    try {
      // Set and removed at once: each is a change the other tabs hear, and nothing stays.
      if (ch) ch.postMessage(m);
      else localStorage.setItem(name, m), localStorage.removeItem(name);
    } catch {}
  };
}
