// Vite's server-side rendering build of the same app: in Node the package (its "node" export
// condition) answers with defaults, so the server render shows the page's defaults.
import { Tailor } from "@tailor-sdk/tailor";

export async function render() {
  const tailor = await Tailor.init({ site: "pack-vite-ssr", consent: "granted" });
  const offers = tailor.decide({ pageType: "home" }).placements["home-hero"]?.offers ?? [];
  return { ready: tailor.status.ready, problems: tailor.status.problems, html: `<h1>${offers[0]?.content.title ?? "Welcome to the shop"}</h1>` };
}
