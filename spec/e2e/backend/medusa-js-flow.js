// medusa-js-flow.js: the medusa-js 6.1.10 side of the differential run. It interprets one
// spec/e2e/diff/*.json flow exactly as spec/e2e/support/differential.lua does, and prints
// {"results": [{step, status, body}, ...]} as JSON on stdout. Raw: the Lua side normalises.
//   node medusa-js-flow.js FLOW_JSON BASE_URL '{"a": "paycol_...", "cart": "..."}'
// The vars (fixture ids made by the Lua side through the admin API) come as JSON on argv.
//
// The step fields only this side reads: "js_cookie": [index, {"Cookie": "${sid}"}] puts
// customHeaders at args[index]; "js_save_cookie": "sid" saves the connect.sid=... pair of
// the response's Set-Cookie. medusa-js in Node has no cookie jar (axios there keeps no
// cookies; withCredentials only matters in a browser), while medusa-lua keeps the session
// cookie the backend set on customers.create and sends it back. To make both clients send
// the same request for the logged-in /store/customers/me calls we give medusa-js the cookie
// explicitly through its documented customHeaders argument, rather than switching both to
// getToken + Bearer: the cookie session is what a medusa-js app in a browser uses, and what
// medusa-lua does by itself, so that is the behaviour worth comparing.
const fs = require("fs")
const Medusa = require("@medusajs/medusa-js").default

const [flowFile, baseUrl, varsJson] = process.argv.slice(2)
const flow = JSON.parse(fs.readFileSync(flowFile, "utf8"))
const vars = JSON.parse(varsJson)

function fill(value) {
  if (typeof value === "string") {
    const whole = value.match(/^\$\{(\w+)\}$/)
    if (whole) return vars[whole[1]]
    return value.replace(/\$\{(\w+)\}/g, (_, name) => vars[name])
  }
  if (Array.isArray(value)) return value.map(fill)
  if (value && typeof value === "object") {
    const out = {}
    for (const [k, v] of Object.entries(value)) out[k] = fill(v)
    return out
  }
  return value
}

// Dotted path; '*' maps a list; 'field=value' picks the element whose field is value.
function extract(value, path) {
  const [head, ...rest] = path
  if (head === undefined || value === undefined || value === null) return value
  const filter = head.match(/^(\w+)=(.*)$/)
  if (filter) {
    const found = value.find((v) => v[filter[1]] === filter[2])
    return found === undefined ? undefined : extract(found, rest)
  }
  if (head === "*") return value.map((v) => extract(v, rest))
  return extract(value[Array.isArray(value) ? Number(head) : head], rest)
}

// "request" is client.request, a dotted path a resource method, a bare name a
// paymentCollections method (the first flow's steps).
function resolve(medusa, call) {
  if (call === "request") return medusa.client.request.bind(medusa.client)
  const parts = call.includes(".") ? call.split(".") : ["paymentCollections", call]
  let owner = medusa
  for (const part of parts.slice(0, -1)) owner = owner[part]
  const fn = owner[parts[parts.length - 1]]
  if (typeof fn !== "function") throw new Error("no such method " + call)
  return fn.bind(owner)
}

async function main() {
  const medusa = new Medusa({ baseUrl, maxRetries: 3 })
  const results = []
  for (const step of flow.steps) {
    const args = fill(step.args)
    if (step.js_cookie) {
      const [index, headers] = step.js_cookie
      while (args.length < index) args.push(undefined)
      args[index] = fill(headers)
    }
    const name = step.call + " " + JSON.stringify(step.args)
    try {
      const { response, ...data } = await resolve(medusa, step.call)(...args)
      let body = data
      for (const [key, path] of Object.entries(step.save || {})) {
        vars[key] = extract(body, fill(path).split("."))
      }
      if (step.js_save_cookie) {
        const cookies = response.headers["set-cookie"] || []
        const sid = cookies.find((c) => c.startsWith("connect.sid="))
        vars[step.js_save_cookie] = sid && sid.split(";")[0]
      }
      if (step.pick) body = { [step.pick]: extract(body, fill(step.pick).split(".")) }
      results.push({ step: name, status: response.status, body })
    } catch (err) {
      if (!err.response) throw err
      results.push({ step: name, status: err.response.status, body: err.response.data })
    }
  }
  process.stdout.write(JSON.stringify({ results }))
}

main().catch((err) => {
  console.error("medusa-js-flow:", err)
  process.exit(1)
})
