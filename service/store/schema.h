// The database's schema, shared by every store on it (accounts, the rate
// ledger, watch, webhooks): its migrations and its version. The credential
// store applies them when it opens (service/accounts/credential_store.h).
#ifndef SERVICE_STORE_SCHEMA_H_
#define SERVICE_STORE_SCHEMA_H_

namespace unified::store {

// The schema version this build writes: kMigrations has this many entries.
inline constexpr int kSchemaVersion = 12;

// Migrations in order; entry i brings the schema to version i + 1.
extern const char* const kMigrations[];

}  // namespace unified::store

#endif  // SERVICE_STORE_SCHEMA_H_
