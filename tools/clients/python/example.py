"""Links the demo account, reads who it is (waiting out Podio's rate limit
when the server says how long), lists workspaces, streams every user,
searches, takes a WatchDirectory snapshot, and shows a typed error, against
a running server.

  python3 example.py --address 127.0.0.1:50051 --api_key uk_... \\
      --username demo@example.com --password demo-password \\
      [--ca_file ca.pem [--cert_file client.pem --key_file client.key]]
"""

import argparse
import sys

import unified_directory
from google.protobuf import field_mask_pb2
from unified_directory import integrated_accounts_pb2, user_directory_pb2


def show_error(step, error, kind="error"):
    """One line for a unified_directory.UnifiedError."""
    print("%s %s: %s reason=%s retry_delay=%s" %
          (step, kind, error.code.name, error.reason,
           "none" if error.retry_delay is None else "%gs" % error.retry_delay))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--api_key", required=True)
    parser.add_argument("--username", default="demo@example.com")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--ca_file", help="TLS: the server's CA (PEM)")
    parser.add_argument("--cert_file", help="mTLS: this client's certificate")
    parser.add_argument("--key_file", help="mTLS: its private key")
    parser.add_argument("--server_name",
                        help="TLS: the name in the server's certificate")
    args = parser.parse_args()
    client = unified_directory.Client(args.address, args.api_key,
                                      args.ca_file, args.cert_file,
                                      args.key_file, args.server_name)

    account = client.accounts.LinkWithPassword(
        integrated_accounts_pb2.LinkWithPasswordRequest(
            username=args.username, password=args.password))
    print("linked account %s as %s %s (%s)" %
          (account.id, account.provider_ref_type, account.provider_ref_id,
           integrated_accounts_pb2.IntegratedAccount.Status.Name(
               account.status)))

    # A retryable error is tried again after the server's RetryInfo delay,
    # within the call's deadline; on_retry sees each one.
    me = client.directory.GetMe(
        user_directory_pb2.GetMeRequest(integrated_account_id=account.id),
        on_retry=lambda error, wait: show_error("GetMe", error, "retry"))
    print("me: %s (%s)" % (me.name, me.id))

    workspaces = client.directory.ListWorkspaces(
        user_directory_pb2.ListWorkspacesRequest(
            integrated_account_id=account.id, limit=500))
    # total_size is set only where the source reports the listing's size.
    print("workspaces: %d of %s" %
          (len(workspaces.result), workspaces.total_size
           if workspaces.HasField("total_size") else "unknown"))
    for workspace in workspaces.result[:3]:
        print("  workspace %s %s" % (workspace.id, workspace.name))

    # Every record once, resumed from the last cursor if the stream breaks.
    users = sum(1 for _ in client.records(
        "StreamUsers", user_directory_pb2.ListUsersRequest(
            integrated_account_id=account.id, limit=100)))
    print("streamed users: %d" % users)

    # A typeahead: a part of a name or an e-mail, any case.
    found = client.directory.ListUsers(
        user_directory_pb2.ListUsersRequest(
            integrated_account_id=account.id, query="Brown",
            limit=100)).result
    matching = all("brown" in u.name.lower() or
                   any("brown" in e.email.lower() for e in u.emails)
                   for u in found)
    print('search "Brown": %d users, %s' %
          (len(found), "each matching" if matching else "NOT all matching"))

    # Ids found elsewhere (assignees on items, say) to people, in one call;
    # only the fields needed.
    ids = [u.id for u in found[:3]] + ["5999999999"]
    batch = client.directory.BatchGetUsers(
        user_directory_pb2.BatchGetUsersRequest(
            integrated_account_id=account.id, user_ids=ids,
            read_mask=field_mask_pb2.FieldMask(paths=["id", "name"])))
    print("batch get: %d users, not found: %s" %
          (len(batch.users), ",".join(batch.not_found_ids)))

    # Watching: the snapshot first (the roster as events), then live changes;
    # a real consumer keeps reading and stores each event's resume_token.
    watch = client.events(
        user_directory_pb2.WatchDirectoryRequest(
            integrated_account_id=account.id, include_snapshot=True))
    kinds = {}
    token = ""
    for event in watch:
        kinds[event.type] = kinds.get(event.type, 0) + 1
        if event.type == user_directory_pb2.DirectoryEvent.SNAPSHOT_COMPLETE:
            token = event.resume_token
            break
    watch.close()  # Ends the stream.
    event_type = user_directory_pb2.DirectoryEvent
    print("watch snapshot: %d workspaces, %d members, %d organization "
          "members, resume token %s..." %
          (kinds.get(event_type.WORKSPACE_ADDED, 0),
           kinds.get(event_type.MEMBER_ADDED, 0),
           kinds.get(event_type.ORG_MEMBER_ADDED, 0), token[:8]))

    # Not retryable: raised at once, typed.
    try:
        client.directory.ListUsers(user_directory_pb2.ListUsersRequest(
            integrated_account_id=account.id, cursor="not-a-cursor"))
    except unified_directory.UnifiedError as error:
        show_error("ListUsers", error)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
