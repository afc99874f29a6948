# Types of the sync client (client.py); its idiomatic calls are made from
# the table in calls.py, so they are declared here. Checked by mypy
# (//tests/clients:python_types_test).
from typing import (Any, AsyncIterator, Awaitable, Callable, Generic, Iterable,
                    Iterator, Mapping, Optional, Sequence, Tuple, TypeVar,
                    Union)

from unified_directory._gen.proto.unified.v1.integrated_accounts_pb2 import (
    CreateLinkSessionResponse)
from unified_directory._gen.proto.unified.v1.resources_pb2 import (
    Organization, Role, RoleAssignment, User, Workspace)
from unified_directory._gen.proto.unified.v1.user_directory_pb2 import (
    BatchGetUsersResponse, BatchGetWorkspacesResponse, DirectoryEvent,
    WatchDirectoryRequest, WatchStatus)
from unified_directory.errors import RETRY_REASONS as RETRY_REASONS
from unified_directory.errors import UnifiedError
from unified_directory.pagers import Pager

T = TypeVar("T")
OnRetry = Callable[[UnifiedError], Any] | Callable[[UnifiedError, float], Any]
Metadata = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


class Retry:
    attempts: Optional[int]
    initial_backoff: float
    max_backoff: float
    reasons: frozenset[str]
    def __init__(self, attempts: Optional[int] = ..., initial_backoff: float = ...,
                 max_backoff: float = ..., reasons: Iterable[str] = ...) -> None: ...
    def backoff(self, tries: int) -> float: ...


NO_RETRY: Retry


def wait_before_retry(retry: Retry, name: str, error: UnifiedError, tries: int,
                      deadline: Optional[float]) -> Optional[float]: ...
def channel_parts(address: Union[str, Sequence[str]], api_key: str,
                  ca_file: Optional[str] = ..., cert_file: Optional[str] = ...,
                  key_file: Optional[str] = ..., server_name: Optional[str] = ...,
                  balance: Optional[bool] = ...) -> Tuple[str, Any, Any]: ...


class Client:
    directory: Any
    accounts: Any
    proxy: Any
    channel: Any
    timeout: float
    retry: Retry
    def __init__(self, address: Union[str, Sequence[str]], api_key: str,
                 ca_file: Optional[str] = ..., cert_file: Optional[str] = ...,
                 key_file: Optional[str] = ..., server_name: Optional[str] = ...,
                 timeout: float = ..., balance: Optional[bool] = ...,
                 retry: Optional[Retry] = ...) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Client": ...
    def __exit__(self, *unused: Any) -> None: ...
    def records(self, name: str, request: Any, timeout: Optional[float] = ...,
                on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
                metadata: Optional[Metadata] = ...) -> Iterator[Any]: ...
    def events(self, request: WatchDirectoryRequest, timeout: Optional[float] = ...,
               on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
               metadata: Optional[Metadata] = ...) -> Iterator[DirectoryEvent]: ...
    def create_link_session(
        self, end_customer_id: str, return_url: str, display_name: str = ...,
        providers: Sequence[str] = ..., integrated_account_id: str = ...,
        state: str = ..., ttl_seconds: int = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ...) -> CreateLinkSessionResponse: ...
    def watch(self, account_id: Optional[str] = ...,
              account_ids: Optional[Iterable[str]] = ..., all_accounts: bool = ...,
              include_snapshot: bool = ..., resume_token: str = ...,
              timeout: Optional[float] = ..., on_retry: Optional[OnRetry] = ...,
              request_id: Optional[str] = ...,
              metadata: Optional[Metadata] = ...) -> Iterator[DirectoryEvent]: ...
    def get_me(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> User: ...
    def get_user(self, account_id: str, user_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> User: ...
    def batch_get_users(self, account_id: str, user_ids: Iterable[str], *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> BatchGetUsersResponse: ...
    def list_users(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Pager[User]: ...
    def stream_users(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Iterator[User]: ...
    def get_organization(self, account_id: str, organization_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Organization: ...
    def list_organizations(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Pager[Organization]: ...
    def stream_organizations(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Iterator[Organization]: ...
    def get_workspace(self, account_id: str, workspace_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Workspace: ...
    def batch_get_workspaces(self, account_id: str, workspace_ids: Iterable[str], *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> BatchGetWorkspacesResponse: ...
    def list_workspaces(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Pager[Workspace]: ...
    def stream_workspaces(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Iterator[Workspace]: ...
    def list_role_assignments(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Pager[RoleAssignment]: ...
    def stream_role_assignments(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Iterator[RoleAssignment]: ...
    def list_roles(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Pager[Role]: ...
    def get_role(self, account_id: str, role_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Role: ...
    def get_watch_status(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> WatchStatus: ...
    def set_watching(self, account_id: str, watching: bool, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> WatchStatus: ...
