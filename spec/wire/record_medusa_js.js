// spec/wire/record_medusa_js.js: records what the real medusa-js 6.1.10 sends for every call
// of spec/wire/calls.json, for spec/store_wire_spec.lua to compare medusa-lua against.
// It answers every request 200 `{}` from a recorder on 127.0.0.1 and writes, per case, the
// case itself (so the spec can tell a stale recording), the arity medusa-js gives the method
// and each request exactly as it arrived: method, target, headers in wire order with their
// spelling, body bytes. It also lists medusa-js's own store methods, so that the spec can
// tell when medusa-lua's registry and medusa-js disagree on what exists.
//   node spec/wire/record_medusa_js.js [CALLS_JSON [FIXTURE_JSON]]    (make record-wire)
"use strict"
const fs = require("fs")
const http = require("http")
const path = require("path")

const ROOT = path.resolve(__dirname, "..", "..")
const CALLS = process.argv[2] || path.join(ROOT, "spec/wire/calls.json")
const OUT = process.argv[3] || path.join(ROOT, "spec/support/fixtures/medusa-js-store-wire.json")
const MODULES = path.join(ROOT, "spec/e2e/backend/node_modules")
const MEDUSA_JS = path.join(MODULES, "@medusajs/medusa-js")
const WANTED = "6.1.10"

function fail(message) {
  console.error("record_medusa_js: " + message)
  process.exit(1)
}

if (!fs.existsSync(path.join(MEDUSA_JS, "package.json"))) {
  fail(`${MEDUSA_JS} is missing; spec/e2e/backend/package.json pins it (make e2e-up runs npm ci there)`)
}
const version = require(path.join(MEDUSA_JS, "package.json")).version
if (version !== WANTED) fail(`found @medusajs/medusa-js ${version}, the recording is of ${WANTED}`)

const medusaJs = require(MEDUSA_JS)
const Medusa = medusaJs.default
const { BaseResource, KeyManager } = medusaJs

// The versions of what shapes the bytes, resolved from medusa-js itself (its own nested
// copy of axios wins over a hoisted one, as at run time).
function versionOf(name) {
  const file = require.resolve(name + "/package.json", { paths: [fs.realpathSync(MEDUSA_JS)] })
  return JSON.parse(fs.readFileSync(file, "utf8")).version
}

// "carts.lineItems" -> medusa.carts.lineItems; the method keeps that object as `this`.
function resolve(medusa, resourcePath, method) {
  let owner = medusa
  for (const part of resourcePath.split(".")) {
    owner = owner[part]
    if (!(owner instanceof BaseResource)) fail(`medusa-js has no store resource ${resourcePath}`)
  }
  const fn = owner[method]
  if (typeof fn !== "function") fail(`medusa-js has no method ${resourcePath}.${method}`)
  return { owner, fn }
}

// Every store method of a Medusa instance, nested resources included ("carts.lineItems.create").
// `admin` is a resource too, and out of scope.
function storeMethods(medusa) {
  const names = []
  const walk = (prefix, resource) => {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(resource))) {
      if (name !== "constructor" && typeof resource[name] === "function") names.push(prefix + "." + name)
    }
    for (const [name, child] of Object.entries(resource)) {
      if (child instanceof BaseResource) walk(prefix + "." + name, child)
    }
  }
  for (const [name, resource] of Object.entries(medusa)) {
    if (name !== "admin" && resource instanceof BaseResource) walk(name, resource)
  }
  return names.sort()
}

// medusa-lua sends object keys in byte order and custom headers in case-insensitive order
// (a Lua table has no order); medusa-js sends insertion order. A case written in another
// order would only record that known difference, so it is refused here, where the order
// the file was written in is still visible.
function byteOrder(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))
}
function headerOrder(a, b) {
  return byteOrder(a.toLowerCase(), b.toLowerCase()) || byteOrder(a, b)
}
function checkOrder(where, value, order) {
  if (Array.isArray(value)) return value.forEach((v, i) => checkOrder(`${where}[${i}]`, v, order))
  if (!value || typeof value !== "object") return
  const keys = Object.keys(value)
  for (let i = 1; i < keys.length; i++) {
    if (order(keys[i - 1], keys[i]) >= 0) fail(`${where}: key ${JSON.stringify(keys[i])} must come before ${JSON.stringify(keys[i - 1])}`)
  }
  for (const k of keys) checkOrder(`${where}.${k}`, value[k], order)
}

// rawHeaders is [name, value, name, value, ...] as received: order and spelling kept.
function headerPairs(raw) {
  const pairs = []
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]])
  return pairs
}

function startRecorder(log) {
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (chunk) => chunks.push(chunk))
    req.on("end", () => {
      const bytes = Buffer.concat(chunks)
      const body = bytes.toString("utf8")
      // The fixture holds the body as a JSON string: only bytes that survive that are kept.
      if (!Buffer.from(body, "utf8").equals(bytes)) fail(`${req.method} ${req.url}: the body is not UTF-8`)
      log.push({ method: req.method, target: req.url, version: req.httpVersion, headers: headerPairs(req.rawHeaders), body })
      res.writeHead(200, { "Content-Type": "application/json" })
      res.end("{}")
    })
  })
  return new Promise((ready) => server.listen(0, "127.0.0.1", () => ready(server)))
}

async function main() {
  const calls = JSON.parse(fs.readFileSync(CALLS, "utf8"))
  for (const [name, config] of Object.entries(calls.configs)) {
    checkOrder(`configs.${name}.customHeaders`, config.customHeaders, headerOrder)
  }
  for (const c of calls.cases) {
    checkOrder(`${c.id}: args`, c.args, byteOrder)
    checkOrder(`${c.id}: customHeaders`, c.customHeaders, headerOrder)
  }
  const log = []
  const server = await startRecorder(log)
  const baseUrl = `http://127.0.0.1:${server.address().port}`
  const cases = []
  const seen = new Set()
  for (const c of calls.cases) {
    if (seen.has(c.id)) fail(`two cases are named ${JSON.stringify(c.id)}`)
    seen.add(c.id)
    const config = calls.configs[c.config || "default"]
    if (!config) fail(`${c.id}: no config named ${c.config}`)
    // A fresh instance per case: no state (key, connection pool aside) carries over.
    const medusa = new Medusa({ baseUrl, ...config })
    const { owner, fn } = resolve(medusa, c.resource, c.method)
    // fn.length counts the parameters before the first default one: customHeaders (= {}).
    if (c.args.length > fn.length) {
      fail(`${c.id}: ${c.args.length} arguments, but ${c.resource}.${c.method} takes ${fn.length} before customHeaders`)
    }
    const args = c.args.slice()
    if (c.customHeaders) {
      while (args.length < fn.length) args.push(undefined)
      args.push(c.customHeaders)
    }
    const before = log.length
    try {
      // medusa-js keeps this key process-wide; it is undone below so that it reaches only
      // this case's request, as medusa-lua's per-client key does.
      if (c.setPublishableKey !== undefined) medusa.setPublishableKey(c.setPublishableKey)
      await fn.apply(owner, args)
    } finally {
      KeyManager.registerPublishableApiKey(null)
    }
    cases.push({ id: c.id, case: c, arity: fn.length, requests: log.slice(before) })
  }
  server.close()

  const fixture = {
    about: "What medusa-js sends for each case of spec/wire/calls.json, recorded by spec/wire/record_medusa_js.js " +
      "(make record-wire) on a recorder at 127.0.0.1 that answers 200 {}. Compared by spec/store_wire_spec.lua.",
    recorded_with: {
      "@medusajs/medusa-js": version,
      axios: versionOf("axios"),
      qs: versionOf("qs"),
      uuid: versionOf("uuid"),
      node: process.version,
    },
    configs: calls.configs,
    store_methods: storeMethods(new Medusa({ baseUrl })),
    cases,
  }
  fs.writeFileSync(OUT, JSON.stringify(fixture, null, 1) + "\n")
  console.log(`record_medusa_js: ${cases.length} cases, ${log.length} requests -> ${path.relative(ROOT, OUT)}`)
}

main().catch((err) => fail(err && err.stack || String(err)))
