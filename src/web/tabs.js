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
  } catch {
    ch = null;
    try {
      addEventListener("storage", (e) => e.key === name && e.newValue && hear(e.newValue.slice(e.newValue.indexOf(" ") + 1)));
    } catch {}
  }
  return (m) => {
    try {
      // A fresh random prefix, so that the same message twice is still a change.
      ch ? ch.postMessage(m) : localStorage.setItem(name, Math.random() + " " + m);
    } catch {}
  };
}
