#include "service/watch/watch_stream.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/core/proto_time.h"

namespace unified::watch {
namespace {

constexpr int kBatch = 500;

CursorBinding Binding(const AccountRef& a) {
  return CursorBinding{a.tenant, a.account_id, "watch", ""};
}

// The epoch scopes the position: a token from before the account was
// unwatched and watched again has expired.
std::string Token(const CursorCodec& cursors, const AccountRef& a,
                  int64_t epoch, int64_t seq) {
  return SealPosition(cursors, Binding(a), {absl::StrCat(epoch), seq});
}

absl::Status BadToken() {
  return WithErrorInfo(
      absl::InvalidArgumentError(
          "resume_token is damaged or was issued for another account"),
      "INVALID_RESUME_TOKEN");
}

absl::Status SnapshotWithToken() {
  return WithErrorInfo(
      absl::FailedPreconditionError(
          "include_snapshot is for a fresh start; a resume_token continues "
          "where the client was"),
      "SNAPSHOT_WITH_RESUME_TOKEN");
}

// `now` as the event's observed_at.
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

// The snapshot's roster as events of source SOURCE_SNAPSHOT, each with the
// snapshot's sequence (and `account_id` when set).
void AppendSnapshot(const Snapshot& snap, const std::string& account_id,
                    std::vector<v1::DirectoryEvent>* out) {
  auto add = [&](v1::DirectoryEvent::Type type) -> v1::DirectoryEvent& {
    v1::DirectoryEvent& e = out->emplace_back();
    e.set_sequence(snap.seq);
    e.set_type(type);
    e.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
    e.set_integrated_account_id(account_id);
    return e;
  };
  std::map<std::string, std::string> names;
  for (const ObservedWorkspace& w : snap.workspaces) {
    names[w.id] = w.name;
    v1::DirectoryEvent& e = add(v1::DirectoryEvent::WORKSPACE_ADDED);
    e.mutable_workspace()->set_id(w.id);
    e.mutable_workspace()->set_name(w.name);
  }
  for (const auto& [workspace_id, m] : snap.members) {
    v1::DirectoryEvent& e = add(v1::DirectoryEvent::MEMBER_ADDED);
    e.mutable_workspace()->set_id(workspace_id);
    e.mutable_workspace()->set_name(names[workspace_id]);
    SetUser(e.mutable_user(), m.user_id, m.name, m.email);
    e.set_role_id(m.role_id);
  }
  for (const auto& [key, value] : snap.org_members) {
    const ObservedOrgMember& m = value.second;
    v1::DirectoryEvent& e = add(v1::DirectoryEvent::ORG_MEMBER_ADDED);
    e.mutable_organization()->set_id(key.first);
    e.mutable_organization()->set_name(value.first);
    SetUser(e.mutable_user(), m.user_id, m.name, m.email);
    e.set_role_id(m.role_id);
    e.set_status(static_cast<v1::UserStatus>(m.status));
  }
}

}  // namespace

v1::DirectoryEvent ToProto(const StoredEvent& e) {
  v1::DirectoryEvent out;
  out.set_integrated_account_id(e.account_id);
  out.set_sequence(e.seq);
  out.set_type(static_cast<v1::DirectoryEvent::Type>(e.type));
  switch (e.source) {
    case Source::kHook:
      out.set_source(v1::DirectoryEvent::SOURCE_HOOK);
      break;
    case Source::kPoll:
      out.set_source(v1::DirectoryEvent::SOURCE_POLL);
      break;
    case Source::kApi:
      out.set_source(v1::DirectoryEvent::SOURCE_API);
      break;
  }
  *out.mutable_observed_at() = ToTimestamp(e.at);
  if (!e.workspace_id.empty()) {
    out.mutable_workspace()->set_id(e.workspace_id);
    out.mutable_workspace()->set_name(e.workspace_name);
  }
  if (!e.user_id.empty()) {
    SetUser(out.mutable_user(), e.user_id, e.user_name, e.email);
  }
  out.set_role_id(e.role_id);
  out.set_previous_role_id(e.previous_role_id);
  if (!e.org_id.empty()) {
    out.mutable_organization()->set_id(e.org_id);
    out.mutable_organization()->set_name(e.org_name);
  }
  out.set_status(static_cast<v1::UserStatus>(e.status));
  out.set_previous_status(static_cast<v1::UserStatus>(e.previous_status));
  return out;
}

WatchReader::WatchReader(WatchEngine& engine, const CursorCodec& cursors,
                         WatchStreamRequest request)
    : engine_(engine), cursors_(cursors), request_(std::move(request)) {}

absl::Status WatchReader::Open(std::vector<v1::DirectoryEvent>* out) {
  const AccountRef& a = request_.account;
  WatchStore& store = *engine_.store();
  ASSIGN_OR_RETURN(std::optional<WatchState> state, store.roster().State(a));
  if (!state) {
    return absl::FailedPreconditionError("the account is not watched");
  }
  epoch_ = state->epoch;
  seq_ = state->last_seq;
  if (!request_.resume_token.empty()) {
    if (request_.include_snapshot) {
      return SnapshotWithToken();
    }
    std::optional<SealedPosition> opened =
        OpenPosition(cursors_, Binding(a), request_.resume_token);
    int64_t epoch = 0;
    if (cursors_.SealedUnderAnotherKey(request_.resume_token)) {
      return CursorKeyUnknown("resume_token");
    }
    if (!opened || !absl::SimpleAtoi(opened->scope, &epoch)) return BadToken();
    seq_ = opened->seq;
    // Another epoch: the account was unwatched and watched again since.
    if (epoch != state->epoch || seq_ > state->last_seq) return Expired();
    ASSIGN_OR_RETURN(int64_t first_kept, store.events().FirstKeptSeq(a));
    if (seq_ + 1 < first_kept) return Expired();
    token_ = request_.resume_token;
    return absl::OkStatus();
  }
  if (!request_.include_snapshot) {
    token_ = Token(cursors_, a, epoch_, seq_);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Snapshot snap, store.roster().ReadSnapshot(a));
  seq_ = snap.seq;
  AppendSnapshot(snap, a.account_id, out);
  token_ = Token(cursors_, a, epoch_, snap.seq);
  v1::DirectoryEvent& end = out->emplace_back();
  end.set_sequence(snap.seq);
  end.set_type(v1::DirectoryEvent::SNAPSHOT_COMPLETE);
  end.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
  end.set_resume_token(token_);
  return absl::OkStatus();
}

absl::StatusOr<bool> WatchReader::Next(std::vector<v1::DirectoryEvent>* out) {
  if (!opened_) {
    RETURN_IF_ERROR(Open(out));
    opened_ = true;
  }
  const AccountRef& a = request_.account;
  ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                   engine_.store()->events().ReadEvents(a, seq_, kBatch));
  if (!events.empty() && events.front().seq != seq_ + 1) {
    return Expired();  // Pruned while the client was reading.
  }
  for (const StoredEvent& e : events) {
    v1::DirectoryEvent& event = out->emplace_back(ToProto(e));
    token_ = Token(cursors_, a, epoch_, e.seq);
    event.set_resume_token(token_);
    seq_ = e.seq;
  }
  return static_cast<int>(events.size()) < kBatch;
}

v1::DirectoryEvent WatchReader::Heartbeat(absl::Time now) const {
  v1::DirectoryEvent beat;
  beat.set_type(v1::DirectoryEvent::HEARTBEAT);
  beat.set_sequence(seq_);
  beat.set_resume_token(token_);
  *beat.mutable_observed_at() = ToTimestamp(now);
  return beat;
}

namespace {

// The resume token's binding: the tenant and the stream's set of accounts.
CursorBinding TenantBinding(const TenantWatchRequest& r) {
  return CursorBinding{
      r.tenant, "", "watch_tenant",
      r.accounts.empty() ? std::string("*") : absl::StrJoin(r.accounts, ",")};
}

}  // namespace

TenantWatchReader::TenantWatchReader(WatchStore& store,
                                     const CursorCodec& cursors,
                                     TenantWatchRequest request)
    : store_(store), cursors_(cursors), request_(std::move(request)) {}

std::string TenantWatchReader::Token(int64_t tseq) const {
  return SealPosition(cursors_, TenantBinding(request_), {"t", tseq});
}

absl::Status TenantWatchReader::Open(std::vector<v1::DirectoryEvent>* out) {
  ASSIGN_OR_RETURN(const int64_t last,
                   store_.events().TenantPosition(request_.tenant));
  if (!request_.resume_token.empty()) {
    if (request_.include_snapshot) {
      return SnapshotWithToken();
    }
    std::optional<SealedPosition> opened =
        OpenPosition(cursors_, TenantBinding(request_), request_.resume_token);
    if (cursors_.SealedUnderAnotherKey(request_.resume_token)) {
      return CursorKeyUnknown("resume_token");
    }
    if (!opened || opened->scope != "t") return BadToken();
    tseq_ = opened->seq;
    if (tseq_ > last) return Expired();  // Not this store's log.
    token_ = request_.resume_token;
    return absl::OkStatus();
  }
  if (!request_.include_snapshot) {
    tseq_ = last;
    token_ = Token(tseq_);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      TenantSnapshot snap,
      store_.roster().ReadTenantSnapshot(request_.tenant, request_.accounts));
  for (const auto& [account_id, roster] : snap.accounts) {
    AppendSnapshot(roster, account_id, out);
  }
  tseq_ = snap.tseq;
  token_ = Token(tseq_);
  v1::DirectoryEvent& end = out->emplace_back();
  end.set_type(v1::DirectoryEvent::SNAPSHOT_COMPLETE);
  end.set_source(v1::DirectoryEvent::SOURCE_SNAPSHOT);
  end.set_resume_token(token_);
  return absl::OkStatus();
}

absl::StatusOr<bool> TenantWatchReader::Next(
    std::vector<v1::DirectoryEvent>* out) {
  if (!opened_) {
    RETURN_IF_ERROR(Open(out));
    opened_ = true;
  }
  ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                   store_.events().ReadTenantEvents(
                       request_.tenant, request_.accounts, tseq_, kBatch));
  // Read after the events: a prune that committed before them shows here.
  ASSIGN_OR_RETURN(
      const int64_t pruned,
      store_.events().PrunedThrough(request_.tenant, request_.accounts));
  if (pruned > tseq_) return Expired();
  for (const StoredEvent& e : events) {
    v1::DirectoryEvent& event = out->emplace_back(ToProto(e));
    tseq_ = e.tseq;
    token_ = Token(tseq_);
    event.set_resume_token(token_);
  }
  return static_cast<int>(events.size()) < kBatch;
}

v1::DirectoryEvent TenantWatchReader::Heartbeat(absl::Time now) const {
  v1::DirectoryEvent beat;
  beat.set_type(v1::DirectoryEvent::HEARTBEAT);
  beat.set_resume_token(token_);
  *beat.mutable_observed_at() = ToTimestamp(now);
  return beat;
}

}  // namespace unified::watch
