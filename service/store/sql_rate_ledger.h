// The rate budget's ledger in the credential store's database, so that
// replicas sharing PostgreSQL spend one budget per upstream identity: each
// change runs in a transaction holding the identity's row lock, and reads
// that change nothing are one statement (round trips: docs/cluster.md).
#ifndef SERVICE_STORE_SQL_RATE_LEDGER_H_
#define SERVICE_STORE_SQL_RATE_LEDGER_H_

#include <memory>

#include "connectors/common/rate_budget.h"
#include "service/store/sql.h"

namespace unified::store {

// Not owning `db` (the store's, schema version 2 or later).
std::unique_ptr<RateLedger> NewSqlRateLedger(SqlDatabase* db,
                                             RateBudgetOptions options);

}  // namespace unified::store

#endif  // SERVICE_STORE_SQL_RATE_LEDGER_H_
