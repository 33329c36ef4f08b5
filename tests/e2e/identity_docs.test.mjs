// The Node example of docs/api.md ("Identity tokens"), run as written against the real
// server: its token is accepted; one made with another secret, or for another user, is not.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { IDENTITY_SECRET, ROOT, startServer } from "./harness.mjs";

const doc = readFileSync(join(ROOT, "docs/api.md"), "utf8");
const section = doc.slice(doc.indexOf("### Identity tokens"));
const example = /```js\n([\s\S]*?)```/.exec(section)?.[1];

let server;
let dir;
let backend;
before(async () => {
  assert.ok(example, "docs/api.md has a js example under Identity tokens");
  dir = mkdtempSync(join(tmpdir(), "tailor-identity-docs-"));
  writeFileSync(join(dir, "backend.mjs"), example);
  backend = await import(pathToFileURL(join(dir, "backend.mjs")).href);
  server = await startServer();
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const identify = async (userId, token) => {
  const r = await fetch(server.url + "/v1/identify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ site: "default", anonymousId: "a-node-docs", userId, token }),
  });
  assert.equal(r.status, 200);
  return r.json();
};

test("the Node example of docs/api.md makes tokens the server accepts", async () => {
  const token = backend.tailorIdentityToken(IDENTITY_SECRET, "default", "u-node", 600);
  console.log("# token from the docs' Node example: " + token.replace(/\.[^.]+$/, ".<sig>"));
  assert.equal((await identify("u-node", token)).verified, true);
  assert.equal((await identify("someone-else", token)).verified, false);
  const other = backend.tailorIdentityToken("another-secret-0123456789", "default", "u-node", 600);
  assert.equal((await identify("u-node", other)).verified, false);
});
