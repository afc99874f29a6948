// The durable side of WatchDirectory, in the credential store's database
// (schema version 5 and later, SQLite or PostgreSQL): which accounts are
// watched, the roster last observed for each (workspaces, members and their
// roles, user names and e-mails), the event log, the hooks registered at the
// provider, workspaces a hook marked dirty, and the reconciliation poll's
// calls.
//
// Every change is found by diffing an observed roster against the stored
// one, and the diff, the new roster and the events it yields are written in
// one transaction that holds the account's row lock. So a change is logged
// exactly once however many hooks or polls observe it, sequence numbers have
// no gaps, and replicas sharing PostgreSQL write one log.
//
// Each event also has a number in its tenant's sequence (tseq), taken under
// the tenant's row lock in the same transaction: events of all a tenant's
// accounts in the order they were committed, which one position (a
// tenant-wide resume token) can resume. It has gaps only where events were
// pruned, which the accounts' pruned_tseq records.
#ifndef SERVICE_WATCH_WATCH_STORE_H_
#define SERVICE_WATCH_WATCH_STORE_H_

#include "service/store/sql.h"
#include "service/watch/event_log.h"
#include "service/watch/hook_store.h"
#include "service/watch/poll_lease_store.h"
#include "service/watch/roster_store.h"
#include "service/watch/watch_records.h"

namespace unified::watch {

// The four stores on one database. Thread-safe.
class WatchStore {
 public:
  explicit WatchStore(SqlDatabase* db)
      : roster_(db), events_(db), hooks_(db), polls_(db) {}

  RosterStore& roster() { return roster_; }
  EventLog& events() { return events_; }
  HookStore& hooks() { return hooks_; }
  PollLeaseStore& polls() { return polls_; }

 private:
  RosterStore roster_;
  EventLog events_;
  HookStore hooks_;
  PollLeaseStore polls_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_STORE_H_
