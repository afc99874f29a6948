#include "service/watch/watch_stream.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"

namespace unified::watch {
namespace {

constexpr int kBatch = 500;
// How often a waiting stream re-reads the log for other replicas' events.
constexpr absl::Duration kRecheck = absl::Milliseconds(250);

CursorBinding Binding(const AccountRef& a) {
  return CursorBinding{a.tenant, a.account_id, "watch", ""};
}

std::string Token(const CursorCodec& cursors, const AccountRef& a,
                  int64_t epoch, int64_t seq) {
  CursorState state;
  state.page_token = absl::StrCat(epoch, ":", seq);
  return cursors.Seal(Binding(a), state);
}

absl::Status BadToken() {
  return WithErrorInfo(
      absl::InvalidArgumentError(
          "resume_token is damaged or was issued for another account"),
      "INVALID_RESUME_TOKEN");
}

absl::Status Expired() {
  return WithErrorInfo(
      absl::FailedPreconditionError(
          "the events after this resume_token are no longer kept; watch again "
          "with include_snapshot"),
      "RESUME_TOKEN_EXPIRED");
}

void SetUser(v1::User* user, const std::string& id, const std::string& name,
             const std::string& email) {
  user->set_id(id);
  user->set_name(name);
  user->set_username(email);
  if (!email.empty()) {
    v1::Email* e = user->add_emails();
    e->set_email(email);
    e->set_is_primary(true);
  }
}

}  // namespace

v1::DirectoryEvent ToProto(const StoredEvent& e) {
  v1::DirectoryEvent out;
  out.set_sequence(e.seq);
  out.set_type(static_cast<v1::DirectoryEvent::Type>(e.type));
  out.set_source(e.source == Source::kHook ? v1::DirectoryEvent::SOURCE_HOOK
                                           : v1::DirectoryEvent::SOURCE_POLL);
  const int64_t ms = absl::ToUnixMillis(e.at);
  out.mutable_observed_at()->set_seconds(ms / 1000);
  out.mutable_observed_at()->set_nanos(static_cast<int32_t>(ms % 1000) *
                                       1000000);
  if (!e.workspace_id.empty()) {
    out.mutable_workspace()->set_id(e.workspace_id);
    out.mutable_workspace()->set_name(e.workspace_name);
  }
  if (!e.user_id.empty()) {
    SetUser(out.mutable_user(), e.user_id, e.user_name, e.email);
  }
  out.set_role_id(e.role_id);
  out.set_previous_role_id(e.previous_role_id);
  return out;
}

absl::Status StreamWatch(
    WatchEngine& engine, const CursorCodec& cursors,
    const WatchStreamRequest& request,
    const std::function<bool(const v1::DirectoryEvent&)>& write,
    const std::function<bool()>& done) {
  const AccountRef& a = request.account;
  WatchStore& store = *engine.store();
  ASSIGN_OR_RETURN(std::optional<WatchState> state, store.State(a));
  if (!state)
    return absl::FailedPreconditionError("the account is not watched");
  int64_t seq = state->last_seq;
  if (!request.resume_token.empty()) {
    if (request.include_snapshot) {
      return WithErrorInfo(
          absl::FailedPreconditionError(
              "include_snapshot is for a fresh start; a resume_token "
              "continues where the client was"),
          "SNAPSHOT_WITH_RESUME_TOKEN");
    }
    absl::StatusOr<CursorState> opened =
        cursors.Open(Binding(a), request.resume_token);
    if (!opened.ok()) return BadToken();
    std::vector<absl::string_view> parts =
        absl::StrSplit(opened->page_token, ':');
    int64_t epoch = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &epoch) ||
        !absl::SimpleAtoi(parts[1], &seq) || seq < 0) {
      return BadToken();
    }
    // Another epoch: the account was unwatched and watched again since.
    if (epoch != state->epoch || seq > state->last_seq) return Expired();
    ASSIGN_OR_RETURN(int64_t first_kept, store.FirstKeptSeq(a));
    if (seq + 1 < first_kept) return Expired();
  } else if (request.include_snapshot) {
    ASSIGN_OR_RETURN(Snapshot snap, store.ReadSnapshot(a));
    seq = snap.seq;
    std::map<std::string, std::string> names;
    for (const ObservedWorkspace& w : snap.workspaces) {
      names[w.id] = w.name;
      v1::DirectoryEvent e;
      e.set_sequence(snap.seq);
      e.set_type(v1::DirectoryEvent::WORKSPACE_ADDED);
      e.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
      e.mutable_workspace()->set_id(w.id);
      e.mutable_workspace()->set_name(w.name);
      if (!write(e)) return absl::OkStatus();
    }
    for (const auto& [workspace_id, m] : snap.members) {
      v1::DirectoryEvent e;
      e.set_sequence(snap.seq);
      e.set_type(v1::DirectoryEvent::MEMBER_ADDED);
      e.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
      e.mutable_workspace()->set_id(workspace_id);
      e.mutable_workspace()->set_name(names[workspace_id]);
      SetUser(e.mutable_user(), m.user_id, m.name, m.email);
      e.set_role_id(m.role_id);
      if (!write(e)) return absl::OkStatus();
    }
    v1::DirectoryEvent end;
    end.set_sequence(snap.seq);
    end.set_type(v1::DirectoryEvent::SNAPSHOT_COMPLETE);
    end.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
    end.set_resume_token(Token(cursors, a, state->epoch, snap.seq));
    if (!write(end)) return absl::OkStatus();
  }
  while (!done()) {
    ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                     store.ReadEvents(a, seq, kBatch));
    if (!events.empty() && events.front().seq != seq + 1) {
      return Expired();  // Pruned while the client was reading.
    }
    for (const StoredEvent& e : events) {
      v1::DirectoryEvent out = ToProto(e);
      out.set_resume_token(Token(cursors, a, state->epoch, e.seq));
      if (!write(out)) return absl::OkStatus();
      seq = e.seq;
    }
    if (static_cast<int>(events.size()) < kBatch) {
      engine.WaitForChange(a, seq, kRecheck);
    }
  }
  return absl::OkStatus();
}

}  // namespace unified::watch
