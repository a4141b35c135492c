// medusa-config.js: the e2e backend's config. Everything comes from the environment that
// spec/e2e/up.sh sets (a private PostgreSQL on 127.0.0.1, no Redis), so nothing here can
// point at a real database or reach off the machine.
const origin = process.env.E2E_CORS || "http://127.0.0.1"

module.exports = {
  projectConfig: {
    database_url: process.env.DATABASE_URL,
    database_type: "postgres",
    jwt_secret: "medusa-lua-e2e-jwt",
    cookie_secret: "medusa-lua-e2e-cookie",
    store_cors: origin,
    admin_cors: origin,
  },
  plugins: ["medusa-payment-manual", "medusa-fulfillment-manual"],
  // Off by default in 1.20: without it the admin category routes answer 404, so the store
  // specs could not make the category that productCategories.retrieve reads.
  featureFlags: { product_categories: true },
}
