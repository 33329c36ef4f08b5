// Prints the size table of the files a shopper downloads: raw, gzip -9 and brotli (quality 11),
// and their total; writes the same figures to pkg/size.json for the size budget check.
//
//   node scripts/size.mjs [--budget-kb N] FILE...
//
// With --budget-kb N it exits with status 1 when the total gzip -9 size exceeds N KB
// (1 KB = 1024 bytes), so the build fails instead of letting the size grow back silently.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const args = process.argv.slice(2);
let budgetKb = null;
const at = args.indexOf("--budget-kb");
if (at >= 0) {
  budgetKb = Number(args[at + 1]);
  if (!(budgetKb > 0)) {
    console.error("size.mjs: --budget-kb needs a positive number of KB");
    process.exit(2);
  }
  args.splice(at, 2);
}
const files = args;
const rows = files.map((f) => {
  const b = readFileSync(f);
  return {
    file: basename(f),
    raw: b.length,
    gzip: gzipSync(b, { level: 9 }).length,
    brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
});
const total = rows.reduce((t, r) => ({ file: "total", raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), {
  file: "total",
  raw: 0,
  gzip: 0,
  brotli: 0,
});
const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
console.log("\nSize of what a shopper downloads (script tag):");
console.log("file".padEnd(22) + "raw".padStart(11) + "gzip -9".padStart(11) + "brotli".padStart(11));
for (const r of [...rows, total]) console.log(r.file.padEnd(22) + kb(r.raw) + kb(r.gzip) + kb(r.brotli));
writeFileSync("pkg/size.json", JSON.stringify({ files: rows, total, budgetKb }, null, 2) + "\n");
if (budgetKb !== null) {
  const used = total.gzip / 1024;
  if (used > budgetKb) {
    console.error(`\nSize budget exceeded: ${used.toFixed(1)} KB gzip -9 in total, the budget is ${budgetKb} KB.`);
    console.error("Find what grew with twiggy (see docs/size.md), or raise the budget in scripts/build.sh on purpose.");
    process.exit(1);
  }
  console.log(`within the size budget: ${used.toFixed(1)} of ${budgetKb} KB gzip -9`);
}
