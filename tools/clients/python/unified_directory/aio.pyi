# Types of the asyncio client (aio.py); its idiomatic calls are made from
# the table in calls.py, so they are declared here.
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

T = TypeVar("T")
OnRetry = Callable[[UnifiedError], Any] | Callable[[UnifiedError, float], Any]
Metadata = Union[Mapping[str, str], Iterable[Tuple[str, str]]]

from unified_directory.client import Retry


class AsyncPager(Generic[T]):
    @property
    def pages(self) -> AsyncIterator[Any]: ...
    def __aiter__(self) -> AsyncIterator[T]: ...


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
    async def close(self) -> None: ...
    async def __aenter__(self) -> "Client": ...
    async def __aexit__(self, *unused: Any) -> None: ...
    async def call(self, name: str, request: Any, timeout: Optional[float] = ...,
                   on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
                   metadata: Optional[Metadata] = ...) -> Any: ...
    def records(self, name: str, request: Any, timeout: Optional[float] = ...,
                on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
                metadata: Optional[Metadata] = ...) -> AsyncIterator[Any]: ...
    def events(self, request: WatchDirectoryRequest, timeout: Optional[float] = ...,
               on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
               metadata: Optional[Metadata] = ...) -> AsyncIterator[DirectoryEvent]: ...
    async def create_link_session(
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
              metadata: Optional[Metadata] = ...) -> AsyncIterator[DirectoryEvent]: ...
    async def get_me(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> User: ...
    async def get_user(self, account_id: str, user_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> User: ...
    async def batch_get_users(self, account_id: str, user_ids: Iterable[str], *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> BatchGetUsersResponse: ...
    def list_users(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncPager[User]: ...
    def stream_users(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncIterator[User]: ...
    async def get_organization(self, account_id: str, organization_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Organization: ...
    def list_organizations(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncPager[Organization]: ...
    def stream_organizations(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncIterator[Organization]: ...
    async def get_workspace(self, account_id: str, workspace_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Workspace: ...
    async def batch_get_workspaces(self, account_id: str, workspace_ids: Iterable[str], *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> BatchGetWorkspacesResponse: ...
    def list_workspaces(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncPager[Workspace]: ...
    def stream_workspaces(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncIterator[Workspace]: ...
    def list_role_assignments(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncPager[RoleAssignment]: ...
    def stream_role_assignments(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncIterator[RoleAssignment]: ...
    def list_roles(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> AsyncPager[Role]: ...
    async def get_role(self, account_id: str, role_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> Role: ...
    async def get_watch_status(self, account_id: str, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> WatchStatus: ...
    async def set_watching(self, account_id: str, watching: bool, *, fields: Optional[Sequence[str]] = ...,
        page_size: Optional[int] = ..., timeout: Optional[float] = ...,
        on_retry: Optional[OnRetry] = ..., request_id: Optional[str] = ...,
        metadata: Optional[Metadata] = ..., **filters: Any) -> WatchStatus: ...
