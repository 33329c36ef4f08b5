// Benchmark: track() calls per second in headless Chromium, profile update and IndexedDB commit
// included. Serves www/ and pkg/ with the real `tailor serve`, opens /bench/track.html, prints
// the medians. Bounded: a fixed number of calls, then it stops.
//
//   bash scripts/build.sh && cargo build -p tailor-server && node bench/track-browser.mjs [calls] [rounds]
import { launchBrowser, startServer } from "../tests/e2e/harness.mjs";

const n = Number(process.argv[2] || 500);
const rounds = Number(process.argv[3] || 5);
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(server.url + "/bench/track.html");
  await page.waitForFunction(() => typeof window.runTrackBench === "function");
  const result = await page.evaluate(([n, rounds]) => window.runTrackBench(n, rounds), [n, rounds]);
  if (result.profileProductViews !== n * rounds * 2) throw new Error("profile missed events: " + JSON.stringify(result));
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await server.stop();
}
