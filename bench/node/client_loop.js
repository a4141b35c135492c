// bench/node/client_loop.js: the node contenders. `medusa-js` calls
// paymentCollections.retrieve / managePaymentSession of @medusajs/medusa-js 6.1.10;
// `http` is node's own keep-alive http client plus JSON.parse (node's floor). Makes WARMUP
// then N sequential calls; prints one JSON line with the wall and CPU time
// (process.cpuUsage: user+sys of the whole process) of the timed calls only.
//
//   node bench/node/client_loop.js medusa-js|http BASE_URL get|post N WARMUP
"use strict";
const http = require("http");

const COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48";
const [kind, baseUrl, op, nArg, warmupArg] = process.argv.slice(2);
const n = Number(nArg), warmup = Number(warmupArg);
if (!["medusa-js", "http"].includes(kind) || !["get", "post"].includes(op) || !(n >= 0) || !(warmup >= 0)) {
  console.error("usage: client_loop.js medusa-js|http BASE_URL get|post N WARMUP");
  process.exit(2);
}

function medusaJsCall() {
  const Medusa = require("@medusajs/medusa-js").default;
  const pc = new Medusa({ baseUrl, maxRetries: 0 }).paymentCollections;
  if (op === "get") return () => pc.retrieve(COLLECTION_ID);
  return () => pc.managePaymentSession(COLLECTION_ID, { provider_id: "manual" });
}

function rawHttpCall() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(baseUrl);
  const path = `/store/payment-collections/${COLLECTION_ID}` + (op === "post" ? "/sessions" : "");
  const payload = op === "post" ? JSON.stringify({ provider_id: "manual" }) : null;
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (payload) headers["Content-Length"] = Buffer.byteLength(payload);
  return () => new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, path, method: op === "get" ? "GET" : "POST", headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        resolve({ ...body, response: { status: res.statusCode, headers: res.headers } });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload || undefined);
  });
}

async function run(call, count) {
  let res;
  for (let i = 0; i < count; i++) {
    res = await call();
    if (res.response.status !== 200) throw new Error(`HTTP ${res.response.status}`);
  }
  return res;
}

(async () => {
  const call = kind === "medusa-js" ? medusaJsCall() : rawHttpCall();
  await run(call, warmup);
  const wall0 = process.hrtime.bigint(), cpu0 = process.cpuUsage();
  const last = await run(call, n);
  const cpu = process.cpuUsage(cpu0), wall = Number(process.hrtime.bigint() - wall0) / 1e9;
  if (last.payment_collection.id !== COLLECTION_ID) throw new Error("unexpected last result");
  console.log(JSON.stringify({ n, wall_s: wall, cpu_s: (cpu.user + cpu.system) / 1e6, user_s: cpu.user / 1e6, sys_s: cpu.system / 1e6 }));
  process.exit(0);
})().catch((e) => { console.error("client_loop.js:", e && e.message || e); process.exit(1); });
