// medusa-js-flow.js: the medusa-js 6.1.10 side of the differential run. It interprets
// spec/e2e/diff/flow.json exactly as spec/e2e/support/differential.lua does, and prints
// {"results": [{step, status, body}, ...]} as JSON on stdout. Raw: the Lua side normalises.
//   node medusa-js-flow.js FLOW_JSON BASE_URL '{"a": "paycol_...", "b": "paycol_..."}'
const fs = require("fs")
const Medusa = require("@medusajs/medusa-js").default

const [flowFile, baseUrl, collectionsJson] = process.argv.slice(2)
const flow = JSON.parse(fs.readFileSync(flowFile, "utf8"))
const vars = JSON.parse(collectionsJson)

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

function extract(value, path) {
  const [head, ...rest] = path
  if (head === undefined) return value
  if (head === "*") return value.map((v) => extract(v, rest))
  return extract(value[Array.isArray(value) ? Number(head) : head], rest)
}

async function main() {
  const medusa = new Medusa({ baseUrl, maxRetries: 3 })
  const results = []
  for (const step of flow.steps) {
    const args = fill(step.args)
    const name = step.call + " " + JSON.stringify(step.args)
    const call = step.call === "request"
      ? medusa.client.request(...args)
      : medusa.paymentCollections[step.call](...args)
    try {
      const { response, ...body } = await call
      results.push({ step: name, status: response.status, body })
      for (const [key, path] of Object.entries(step.save || {})) {
        vars[key] = extract(body, path.split("."))
      }
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
