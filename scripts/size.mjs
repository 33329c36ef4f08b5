// Prints the size table of the files a shopper downloads: raw, gzip -9 and brotli (quality 11),
// and their total; writes the same figures to pkg/size.json for the size budget check.
//
//   node scripts/size.mjs FILE...
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const files = process.argv.slice(2);
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
writeFileSync("pkg/size.json", JSON.stringify({ files: rows, total }, null, 2) + "\n");
