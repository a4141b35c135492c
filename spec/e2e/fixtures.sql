-- spec/e2e/fixtures.sql: the rows every e2e run shares, idempotent: one USD region with the
-- `manual` payment and fulfillment providers (which Medusa registers at first boot, so this
-- runs after /health). Payment collections are made one per test by spec/e2e/support/backend.lua.
-- psql -v region=<id>
\set ON_ERROR_STOP on

INSERT INTO region (id, name, currency_code, tax_rate, automatic_taxes, gift_cards_taxable)
VALUES (:'region', 'medusa-lua e2e USD', 'usd', 0, false, true)
ON CONFLICT (id) DO NOTHING;

INSERT INTO region_payment_providers (region_id, provider_id)
VALUES (:'region', 'manual')
ON CONFLICT DO NOTHING;

INSERT INTO region_fulfillment_providers (region_id, provider_id)
VALUES (:'region', 'manual')
ON CONFLICT DO NOTHING;
