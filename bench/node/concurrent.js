// bench/node/concurrent.js: the medusa-js 6.1.10 contender of the `concurrent` group. A batch
// of 100 paymentCollections.retrieve calls under Promise.all with at most INFLIGHT at once: a
// pool of INFLIGHT workers, each pulling the next call from a shared queue (a worker waits
// out a retry's backoff inside its call). medusa-js builds its axios instance itself
// (axios.create({ baseURL, adapter }) in Client.createClient) and takes no agent option; the
// instance is the client's public axiosClient property, so its defaults get a keep-alive
// http.Agent with maxSockets INFLIGHT, the same connection count as the other contenders.
// Retries are medusa-js's own (retry-axios: 503 retried, 500 ms backoff before retry 1).
//
// One untimed batch of ok calls first (connections, JIT), then the timed batch; prints one
// JSON line: wall and CPU (process.cpuUsage, user and sys apart) of the timed batch in ms,
// the calls that ended 200 with the recorded collection (ok) and the sockets it opened.
//
//   node bench/node/concurrent.js BASE_URL INFLIGHT ok|flaky MAX_RETRIES [CALLS]
"use strict";
const http = require("http");

const COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48";
const [baseUrl, inflightArg, variant, retriesArg, callsArg] = process.argv.slice(2);
const inflight = Number(inflightArg), maxRetries = Number(retriesArg), calls = Number(callsArg || 100);
if (!baseUrl || !(inflight >= 1) || !["ok", "flaky"].includes(variant) || !(maxRetries >= 0) || !(calls >= 1)) {
  console.error("usage: concurrent.js BASE_URL INFLIGHT ok|flaky MAX_RETRIES [CALLS]");
  process.exit(2);
}

const Medusa = require("@medusajs/medusa-js").default;
const medusa = new Medusa({ baseUrl, maxRetries });
if (!medusa.client || !medusa.client.axiosClient || !medusa.client.axiosClient.defaults) {
  throw new Error("medusa-js has no client.axiosClient: cannot give it the keep-alive agent");
}
const agent = new http.Agent({ keepAlive: true, maxSockets: inflight });
let newConnections = 0;  // counted, so a run that bypassed the agent would show
const createConnection = agent.createConnection.bind(agent);
agent.createConnection = (...args) => { newConnections++; return createConnection(...args); };
medusa.client.axiosClient.defaults.httpAgent = agent;
const pc = medusa.paymentCollections;

function ids(kind) {
  return Array.from({ length: calls }, (_, i) =>
    kind === "flaky" ? `paycol_flaky_${String(i + 1).padStart(3, "0")}` : COLLECTION_ID);
}

// results[i]: what call i resolved to, or the error it rejected with.
async function batch(list) {
  const results = new Array(list.length);
  let next = 0;
  async function worker() {
    while (next < list.length) {
      const i = next++;
      try {
        results[i] = await pc.retrieve(list[i]);
      } catch (e) {
        results[i] = e instanceof Error ? e : new Error(String(e));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(inflight, list.length) }, worker));
  return results;
}

function countOk(results) {
  let ok = 0, firstError = null;
  for (const r of results) {
    if (!(r instanceof Error) && r.response && r.response.status === 200 && r.payment_collection
        && r.payment_collection.id === COLLECTION_ID) ok++;
    else if (!firstError) firstError = r instanceof Error ? r.message : JSON.stringify(r).slice(0, 200);
  }
  return { ok, firstError };
}

(async () => {
  const warm = countOk(await batch(ids("ok")));
  if (warm.ok !== calls) throw new Error(`warm-up batch: ${warm.ok}/${calls} ok: ${warm.firstError}`);
  const list = ids(variant);
  newConnections = 0;
  const wall0 = process.hrtime.bigint(), cpu0 = process.cpuUsage();
  const results = await batch(list);
  const cpu = process.cpuUsage(cpu0), wall = Number(process.hrtime.bigint() - wall0) / 1e6;
  const { ok, firstError } = countOk(results);
  console.log(JSON.stringify({ calls, wall_ms: wall, user_ms: cpu.user / 1e3, sys_ms: cpu.system / 1e3, ok,
                               new_connections: newConnections, first_error: firstError }));
  process.exit(0);
})().catch((e) => { console.error("concurrent.js:", e && e.message || e); process.exit(1); });
