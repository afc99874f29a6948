#include "service/store/schema.h"

namespace unified::store {

// Migrations in order; entry i brings the schema to version i + 1. Plain
// SQL that SQLite and PostgreSQL both accept. Never edit an applied one:
// append.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE accounts (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  provider TEXT NOT NULL,
  status TEXT NOT NULL,
  status_reason TEXT NOT NULL,
  ref_type TEXT NOT NULL,
  ref_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  link_method TEXT NOT NULL,
  access_expires_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  version BIGINT NOT NULL,
  access_token TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX accounts_identity
  ON accounts (tenant, provider, ref_type, ref_id);
CREATE TABLE consumed_states (
  nonce TEXT PRIMARY KEY,
  expires_ms BIGINT NOT NULL
);
)sql",
    // 2: the rate budget shared by replicas (sql_rate_ledger.h).
    R"sql(
CREATE TABLE rate_identities (
  identity TEXT PRIMARY KEY,
  limit_normal BIGINT NOT NULL,
  limit_restricted BIGINT NOT NULL,
  blocked_until_ms BIGINT NOT NULL,
  consecutive_blocks BIGINT NOT NULL
);
CREATE TABLE rate_calls (
  identity TEXT NOT NULL,
  class BIGINT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX rate_calls_by_identity ON rate_calls (identity, class, at_ms);
)sql",
    // 3: WatchDirectory: watched accounts, their rosters, the event log,
    // registered hooks, workspaces marked dirty by hooks and the poll's
    // calls (service/watch/watch_store.h).
    R"sql(
CREATE TABLE watch_accounts (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  enabled_ms BIGINT NOT NULL,
  baseline_done BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  next_poll_ms BIGINT NOT NULL,
  poll_lease_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, account_id)
);
CREATE TABLE watch_workspaces (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, workspace_id)
);
CREATE TABLE watch_members (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role_id TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, workspace_id, user_id)
);
CREATE TABLE watch_users (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, user_id)
);
CREATE TABLE watch_events (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  type BIGINT NOT NULL,
  source BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  workspace_id TEXT NOT NULL,
  workspace_name TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  email TEXT NOT NULL,
  role_id TEXT NOT NULL,
  previous_role_id TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, seq)
);
CREATE TABLE watch_hooks (
  secret_hash TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  hook_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE INDEX watch_hooks_by_account ON watch_hooks (tenant, account_id);
CREATE TABLE watch_dirty (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  gen BIGINT NOT NULL,
  marked_ms BIGINT NOT NULL,
  lease_ms BIGINT NOT NULL,
  users TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, workspace_id)
);
CREATE TABLE watch_poll_calls (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX watch_poll_calls_by_account
  ON watch_poll_calls (tenant, account_id, at_ms);
)sql",
    // 4: organization-level watch events: the organization rosters last
    // observed, and the organization and statuses of events.
    R"sql(
CREATE TABLE watch_org_members (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  org_name TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role_id TEXT NOT NULL,
  status BIGINT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY (tenant, account_id, org_id, user_id)
);
ALTER TABLE watch_events ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE watch_events ADD COLUMN org_name TEXT NOT NULL DEFAULT '';
ALTER TABLE watch_events ADD COLUMN status BIGINT NOT NULL DEFAULT 0;
ALTER TABLE watch_events ADD COLUMN previous_status BIGINT NOT NULL DEFAULT 0;
)sql",
    // 5: tenant-wide watching: one sequence over each tenant's events (tseq;
    // events logged before it have 0), and the highest one pruned per
    // account, so a tenant-wide resume token knows when it expired.
    R"sql(
CREATE TABLE watch_tenants (
  tenant TEXT PRIMARY KEY,
  last_tseq BIGINT NOT NULL
);
INSERT INTO watch_tenants (tenant, last_tseq)
  SELECT DISTINCT tenant, 0 FROM watch_accounts;
ALTER TABLE watch_events ADD COLUMN tseq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX watch_events_by_tenant ON watch_events (tenant, tseq);
ALTER TABLE watch_accounts ADD COLUMN pruned_tseq BIGINT NOT NULL DEFAULT 0;
)sql",
    // 6: account lifecycle events (WatchIntegratedAccounts): a log per
    // tenant and its last sequence number.
    R"sql(
CREATE TABLE account_events (
  tenant TEXT NOT NULL,
  seq BIGINT NOT NULL,
  account_id TEXT NOT NULL,
  type BIGINT NOT NULL,
  reason TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE TABLE account_event_tenants (
  tenant TEXT PRIMARY KEY,
  last_seq BIGINT NOT NULL
);
)sql",
    // 7: accounts their provider's rate limit stops, until when (for
    // RATE_LIMITED and RATE_LIMIT_CLEARED).
    R"sql(
CREATE TABLE account_rate_limits (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  until_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, account_id)
);
)sql",
    // 8: outbound webhooks: each tenant's endpoint, its sealed secret, and
    // how far its deliveries went in the directory log (tseq) and the
    // account log (seq): the logs are the outbox
    // (service/webhooks/webhook_store.h).
    R"sql(
CREATE TABLE webhook_endpoints (
  tenant TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  sealed_secret TEXT NOT NULL,
  status BIGINT NOT NULL,
  dir_tseq BIGINT NOT NULL,
  acct_seq BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  first_failure_ms BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  lease_ms BIGINT NOT NULL,
  lease_owner TEXT NOT NULL
);
)sql",
    // 9: a rotated webhook secret stays valid until previous_until_ms:
    // deliveries carry a signature under each (Standard Webhooks).
    R"sql(
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_until_ms BIGINT NOT NULL DEFAULT 0;
)sql",
    // 10: the SaaS's own customer reference on accounts and their events
    // (link sessions, service/link/link_session.h).
    R"sql(
ALTER TABLE accounts ADD COLUMN end_customer_id TEXT NOT NULL DEFAULT '';
CREATE INDEX accounts_end_customer ON accounts (tenant, end_customer_id, id);
ALTER TABLE account_events ADD COLUMN end_customer_id TEXT NOT NULL DEFAULT '';
CREATE TABLE link_sessions (
  token_hash TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  end_customer_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  providers TEXT NOT NULL,
  account_id TEXT NOT NULL,
  return_url TEXT NOT NULL,
  state TEXT NOT NULL,
  expires_ms BIGINT NOT NULL,
  used_ms BIGINT NOT NULL,
  failures BIGINT NOT NULL,
  linked_account_id TEXT NOT NULL
);
CREATE INDEX link_sessions_expiry ON link_sessions (expires_ms);
)sql",
    // 11: the due-poll query by its time (watch/poll_lease_store.cc), and
    // what a provider refused an account, kept until it is asked again
    // (watch/hook_store.h).
    R"sql(
CREATE INDEX watch_accounts_next_poll ON watch_accounts (next_poll_ms);
CREATE TABLE watch_refusals (
  tenant TEXT NOT NULL,
  account_id TEXT NOT NULL,
  what TEXT NOT NULL,
  until_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, account_id, what)
);
)sql",
    // 12: the poll's calls of the last hour on the account's row, one entry
    // per poll, written when the poll ends (watch/poll_lease_store.h)
    // instead of a row per call; when watching the account was paused
    // (watch/roster_store.h, SetPaused).
    R"sql(
ALTER TABLE watch_accounts ADD COLUMN poll_calls TEXT NOT NULL DEFAULT '';
DROP TABLE watch_poll_calls;
ALTER TABLE watch_accounts ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0;
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace unified::store
