// The page's own handlers: what a merchandiser's picking must not set off. Each counts.
window.pageEvents = { click: 0, pointerdown: 0, submit: 0, keydown: 0, heroClick: 0 };
addEventListener("click", () => pageEvents.click++);
addEventListener("pointerdown", () => pageEvents.pointerdown++);
addEventListener("submit", (e) => (e.preventDefault(), pageEvents.submit++));
addEventListener("keydown", () => pageEvents.keydown++);
document.addEventListener("DOMContentLoaded", () => {
  document.querySelector("#hero h1").addEventListener("click", () => pageEvents.heroClick++);
  for (const a of document.querySelectorAll("a")) a.addEventListener("click", (e) => e.preventDefault());
});
