// start.js: the loopback-only starter. `medusa start` listens on every interface, so this
// runs Medusa's own loaders on an express app and listens on 127.0.0.1 alone.
// It also keeps an in-memory log of the /store requests the backend received, served at
// GET /__e2e/requests, so specs can count what reached the backend (not what a proxy saw).
// And, standing in for the notification plugin that would email them, it keeps the events
// that carry a customer's one-time token (password reset, order claim), at GET /__e2e/events.
require("core-js/stable")
require("regenerator-runtime/runtime")
const fs = require("fs")
const path = require("path")
const express = require("express")
const loaders = require("@medusajs/medusa/dist/loaders").default

const port = Number(process.env.E2E_MEDUSA_PORT)
if (!(port > 0)) throw new Error("E2E_MEDUSA_PORT is not set")

const seen = []
const events = []
const TOKEN_EVENTS = ["customer.password_reset", "order-update-token.created"]

async function main() {
  const app = express()
  app.get("/__e2e/requests", (req, res) => res.json({ requests: seen }))
  app.get("/__e2e/events", (req, res) => res.json({ events }))
  app.use("/store", (req, res, next) => {
    seen.push({
      n: seen.length + 1,
      method: req.method,
      url: req.originalUrl,
      headers: req.rawHeaders,
      remote_port: req.socket.remotePort,
    })
    next()
  })
  const { container, shutdown } = await loaders({ directory: __dirname, expressApp: app })
  const eventBus = container.resolve("eventBusService")
  for (const name of TOKEN_EVENTS) {
    eventBus.subscribe(name, async (data) => { events.push({ name, data }) })
  }
  // The admin upload route's multer makes an empty uploads/ here; no spec uploads anything.
  try { fs.rmdirSync(path.join(__dirname, "uploads")) } catch (_) { /* absent or not empty */ }
  const server = app.listen(port, "127.0.0.1", () => {
    console.log(`medusa-lua e2e: listening on http://127.0.0.1:${port}`)
  })
  const stop = () => {
    // Never hang the caller's trap: exit even if the pool does not drain.
    setTimeout(() => process.exit(0), 3000).unref()
    server.close()
    shutdown().finally(() => process.exit(0))
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
}

main().catch((err) => {
  console.error("medusa-lua e2e: boot failed:", err)
  process.exit(1)
})
