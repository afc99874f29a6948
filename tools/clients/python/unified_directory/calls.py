"""What the sync and asyncio clients share of their idiomatic calls: how a
request is built from keyword arguments, and the table of calls (name,
method, request type, kind, positional fields)."""

from google.protobuf import field_mask_pb2
from unified_directory._gen.proto.unified.v1 import (
    integrated_accounts_pb2 as ia)
from unified_directory._gen.proto.unified.v1 import user_directory_pb2 as ud


def build_request(request_type, account_id, fields=None, page_size=None,
                  **values):
    """`request_type` with `account_id`, the read mask of `fields`, the
    page size and the set `values` (TypeError naming an unknown one)."""
    request = request_type(integrated_account_id=account_id)
    known = request_type.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        if name not in known:
            raise TypeError("%s has no field %r" % (request_type.__name__, name))
        if value is None:
            continue
        if known[name].label == known[name].LABEL_REPEATED:
            getattr(request, name).extend(value)
        else:
            setattr(request, name, value)
    if fields:
        request.read_mask.CopyFrom(field_mask_pb2.FieldMask(paths=list(fields)))
    if page_size:
        request.limit = page_size
    return request


def bind(name, request_type, positional, account_id, args, fields,
         page_size, values):
    """The request of the idiomatic call `name`: its positional `args`
    after the account id name `positional` fields (TypeError for a wrong
    count), the rest are keyword `values`."""
    if len(args) != len(positional):
        raise TypeError("%s(account_id, %s) takes %d positional arguments" %
                        (name, ", ".join(positional), len(positional) + 1))
    values = dict(values)
    values.update(zip(positional, args))
    return build_request(request_type, account_id, fields, page_size,
                         **values)


def describe(call, name, method, kind, pager):
    """Names and documents a generated idiomatic call."""
    call.__name__ = name
    call.__doc__ = "%s (%s): %s." % (
        name, method, {"unary": "the answer", "list": pager,
                       "stream": "each record once, streamed"}[kind])
    return call


def copy_message(message):
    """A copy of `message` that the caller may change."""
    return type(message).FromString(message.SerializeToString())


def next_page(request, page):
    """Moves a listing's `request` past `page`; whether pages follow."""
    request.cursor = page.next_cursor
    return bool(page.next_cursor)


def after_event(request, event):
    """Moves a WatchDirectory `request` past `event` (to its resume token,
    the snapshot then taken); the stream goes on."""
    if event.resume_token:
        request.resume_token = event.resume_token
        request.include_snapshot = False
    return True


def call_metadata(request_id=None, metadata=None):
    """A call's metadata: `request_id` as x-request-id (the server's access
    log names the call by it), then `metadata` (pairs or a dict)."""
    out = []
    if request_id:
        out.append(("x-request-id", str(request_id)))
    if metadata:
        items = metadata.items() if hasattr(metadata, "items") else metadata
        out.extend((str(k).lower(), str(v)) for k, v in items)
    return tuple(out)


# (python name, gRPC method, request type, kind, positional fields after the
# account id). Kinds: "unary" returns the message, "list" a pager, "stream"
# the records of a Stream* listing.
CALLS = [
    ("get_me", "GetMe", ud.GetMeRequest, "unary", ()),
    ("get_user", "GetUser", ud.GetUserRequest, "unary", ("user_id",)),
    ("batch_get_users", "BatchGetUsers", ud.BatchGetUsersRequest, "unary",
     ("user_ids",)),
    ("list_users", "ListUsers", ud.ListUsersRequest, "list", ()),
    ("stream_users", "StreamUsers", ud.ListUsersRequest, "stream", ()),
    ("get_organization", "GetOrganization", ud.GetOrganizationRequest,
     "unary", ("organization_id",)),
    ("list_organizations", "ListOrganizations", ud.ListOrganizationsRequest,
     "list", ()),
    ("stream_organizations", "StreamOrganizations",
     ud.ListOrganizationsRequest, "stream", ()),
    ("get_workspace", "GetWorkspace", ud.GetWorkspaceRequest, "unary",
     ("workspace_id",)),
    ("batch_get_workspaces", "BatchGetWorkspaces",
     ud.BatchGetWorkspacesRequest, "unary", ("workspace_ids",)),
    ("list_workspaces", "ListWorkspaces", ud.ListWorkspacesRequest, "list",
     ()),
    ("stream_workspaces", "StreamWorkspaces", ud.ListWorkspacesRequest,
     "stream", ()),
    ("list_role_assignments", "ListRoleAssignments",
     ud.ListRoleAssignmentsRequest, "list", ()),
    ("stream_role_assignments", "StreamRoleAssignments",
     ud.ListRoleAssignmentsRequest, "stream", ()),
    ("list_roles", "ListRoles", ud.ListRolesRequest, "list", ()),
    ("get_role", "GetRole", ud.GetRoleRequest, "unary", ("role_id",)),
    ("get_watch_status", "GetWatchStatus", ud.GetWatchStatusRequest, "unary",
     ()),
    ("set_watching", "SetWatching", ud.SetWatchingRequest, "unary",
     ("watching",)),
]


def watch_request(account_id=None, account_ids=None, all_accounts=False,
                  include_snapshot=False, resume_token=""):
    """A WatchDirectoryRequest for one account, several or all."""
    return ud.WatchDirectoryRequest(
        integrated_account_id=account_id or "",
        integrated_account_ids=list(account_ids or ()),
        all_accounts=all_accounts, include_snapshot=include_snapshot,
        resume_token=resume_token)


def link_session_request(end_customer_id, return_url, display_name="",
                         providers=(), integrated_account_id="", state="",
                         ttl_seconds=0):
    """CreateLinkSession's request (docs/linking.md)."""
    return ia.CreateLinkSessionRequest(
        end_customer_id=end_customer_id, return_url=return_url,
        display_name=display_name, providers=list(providers),
        integrated_account_id=integrated_account_id, state=state,
        ttl_seconds=ttl_seconds)
