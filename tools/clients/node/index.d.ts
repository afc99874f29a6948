// Types of the Node.js client (client.js). The message and service types
// under ./types are generated from the .proto files when the package is
// packed (pack.js); this file, the client's own surface, is written by hand.
// Guide: docs/clients.md.
import type * as grpc from '@grpc/grpc-js';
import type {DirectoryEvent__Output} from './types/unified/v1/DirectoryEvent';
import type {IntegratedAccountsClient} from './types/unified/v1/IntegratedAccounts';
import type {ProxyClient} from './types/unified/v1/Proxy';
import type {UserDirectoryClient} from './types/unified/v1/UserDirectory';
import type {WatchDirectoryRequest} from './types/unified/v1/WatchDirectoryRequest';
import type {User__Output} from './types/unified/v1/User';
import type {Organization__Output} from './types/unified/v1/Organization';
import type {Workspace__Output} from './types/unified/v1/Workspace';
import type {Role__Output} from './types/unified/v1/Role';
import type {WatchStatus__Output} from './types/unified/v1/WatchStatus';
import type {RoleAssignment__Output} from './types/unified/v1/RoleAssignment';
import type {BatchGetUsersResponse__Output} from './types/unified/v1/BatchGetUsersResponse';
import type {CreateLinkSessionResponse__Output} from './types/unified/v1/CreateLinkSessionResponse';
import type {UserStatus} from './types/unified/v1/UserStatus';

export type {IntegratedAccountsClient, ProxyClient, UserDirectoryClient};

/** The request type of a stub's method. */
export type RequestOf<F> = F extends (argument: infer R, ...rest: any[]) => any ? R : never;

/** The response type of a stub's unary method. */
export type ResponseOf<F> =
    F extends (argument: any, callback: grpc.requestCallback<infer R>) => grpc.ClientUnaryCall ?
    R : never;

/** The names of a stub's unary methods. */
export type UnaryMethod<S> = {
  [K in keyof S]: S[K] extends
      (argument: any, callback: grpc.requestCallback<any>) => grpc.ClientUnaryCall ? K : never
}[keyof S] & string;

/** The record type of a Stream* listing: the element of its pages' `result`. */
export type RecordOf<M extends StreamMethod> =
    UserDirectoryClient[M] extends
        (argument: any, options?: grpc.CallOptions) => grpc.ClientReadableStream<{result: (infer T)[]}> ?
    T : never;

/** UserDirectory's paged streams: 'StreamUsers', 'StreamOrganizations', ... */
export type StreamMethod = {
  [K in keyof UserDirectoryClient]: UserDirectoryClient[K] extends
      (argument: any, options?: grpc.CallOptions) => grpc.ClientReadableStream<{result: any[]; next_cursor: string}> ?
      K : never
}[keyof UserDirectoryClient] & string;

/** The reasons whose errors a later try can cure (proto/unified/v1/errors.proto). */
export const RETRY_REASONS: ReadonlySet<string>;

/**
 * A failed call, with the ErrorInfo and RetryInfo the server attached;
 * thrown as the subclass its reason (else its code) names.
 */
export class UnifiedError extends Error {
  constructor(code: string, message: string, reason?: string | null,
              metadata?: Record<string, string>, retryDelayMs?: number | null,
              requestId?: string | null);
  /** The request id the server logged the call under (x-request-id), when it answered. */
  readonly requestId: string | null;
  /** The RetryInfo delay in milliseconds (retryDelayMs), or null. */
  readonly retryAfterMs: number | null;
  /** The gRPC code's name, e.g. 'RESOURCE_EXHAUSTED'. */
  readonly code: string;
  /** The server's message. */
  readonly details: string;
  /** The ErrorInfo reason, e.g. 'UPSTREAM_RATE_LIMITED'; null when the server was not reached. */
  readonly reason: string | null;
  /** The ErrorInfo metadata. */
  readonly metadata: Record<string, string>;
  /** The RetryInfo delay in milliseconds, or null when the server gave none. */
  readonly retryDelayMs: number | null;
  /** Whether trying again later can succeed: the reason says so. */
  readonly retryable: boolean;
  /** Whether the service never answered: UNAVAILABLE, UNKNOWN or INTERNAL without ErrorInfo. */
  readonly unanswered: boolean;
}

/** INVALID_ARGUMENT (and OUT_OF_RANGE): fix the request, do not retry. */
export class InvalidArgument extends UnifiedError {}
/** UNAUTHENTICATED: the API key is missing, unknown or revoked. */
export class Unauthenticated extends UnifiedError {}
/** PERMISSION_DENIED. */
export class PermissionDenied extends UnifiedError {}
/** NOT_FOUND: the account, user, workspace or role does not exist. */
export class NotFound extends UnifiedError {}
/** FAILED_PRECONDITION: not in the account's state. */
export class FailedPrecondition extends UnifiedError {}
/** Reason NEEDS_REAUTH: link the account again. */
export class NeedsReauth extends FailedPrecondition {}
/** RESOURCE_EXHAUSTED: a budget or limit is spent; retryAfterMs says when to try again. */
export class RateLimited extends UnifiedError {}
/** UNAVAILABLE. */
export class Unavailable extends UnifiedError {}
/** DEADLINE_EXCEEDED. */
export class DeadlineExceeded extends UnifiedError {}
/** CANCELLED. */
export class Cancelled extends UnifiedError {}

/** A PEM: its bytes, or the path of its file. */
export type Pem = string | Buffer;

/** A channel's TLS (PEMs). Without `ca` the channel is plaintext, to loopback only. */
export interface TlsOptions {
  /** The CA that signed the server's certificate. */
  ca?: Pem;
  /** This client's certificate, for mutual TLS. */
  cert?: Pem;
  /** This client's private key, for mutual TLS. */
  key?: Pem;
  /** The name checked in the server's certificate, e.g. 'localhost' when dialling 127.0.0.1. */
  serverName?: string;
}

/** How one call (or one whole stream) is made. */
export interface CallOptions {
  /** The deadline in milliseconds from now, retries and waits included. */
  timeoutMs?: number;
  /** The deadline itself (a Date or ms since the epoch); wins over timeoutMs. */
  deadline?: Date | number;
  /** Sent as x-request-id: the server's access log names the call by it. */
  requestId?: string;
  /** Further metadata sent with the call. */
  metadata?: Record<string, string>;
  /** Told of each retry before its wait: the error and the wait in milliseconds. */
  onRetry?: (error: UnifiedError, waitMs: number) => void;
}

/** How the channel picks a server. */
export interface ChannelOptions {
  /** Round-robin over the target's addresses (default: when `address` is an array). */
  balance?: boolean;
}

/** When and how often calls are tried again. */
export interface RetryOptions {
  /** Tries of one call at the most, the first included (default: as many as the deadline allows). */
  attempts?: number | null;
  /** The first wait when the server named none (it was not reached); doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** The ErrorInfo reasons worth another try (default RETRY_REASONS). */
  reasons?: Iterable<string>;
}

/** new Client({...}): everything about the channel and its calls. */
export interface ClientOptions extends ChannelOptions {
  /** host:port, any gRPC target, or the replicas' "ip:port" to balance over. */
  address: string | string[];
  /** Sent as "authorization: Bearer <key>". */
  apiKey: string;
  tls?: TlsOptions;
  retry?: RetryOptions;
  /** Every unary call's default deadline, in milliseconds (30 s). */
  timeoutMs?: number;
  /** Where the .proto files are (default: the package's protos/). */
  includeDirs?: string[];
}

/** A read mask's paths and the page size, beside a call's options. */
export interface ReadOptions extends CallOptions {
  /** The read mask's paths, e.g. ['id', 'name', 'emails']. */
  fields?: string[];
  includeRemoteData?: boolean;
}

export interface PageOptions extends ReadOptions {
  pageSize?: number;
  cursor?: string;
}

/** ListUsers' filters (ListUsersRequest's fields, in camelCase). */
export interface UserFilters extends PageOptions {
  organizationId?: string;
  workspaceId?: string;
  email?: string;
  status?: UserStatus;
  role?: string;
  query?: string;
  orderBy?: string;
}

export interface RoleAssignmentFilters extends PageOptions {
  userId?: string;
  organizationId?: string;
  workspaceId?: string;
}

/** A List* call's records across every page (for await ... of), or its pages. */
export class Pager<T, P = {result: T[]; next_cursor: string}> implements AsyncIterable<T> {
  pages(): AsyncGenerator<P>;
  [Symbol.asyncIterator](): AsyncGenerator<T>;
}

/** What watch() follows. */
export interface WatchOptions extends CallOptions {
  accountId?: string;
  accountIds?: string[];
  allAccounts?: boolean;
  includeSnapshot?: boolean;
  resumeToken?: string;
}

/** What createLinkSession() asks for. */
export interface LinkSessionOptions extends CallOptions {
  endCustomerId: string;
  returnUrl: string;
  displayName?: string;
  providers?: string[];
  integratedAccountId?: string;
  state?: string;
  ttlSeconds?: number;
}

/** The three services over one address, the API key sent with every call. */
export class Client {
  /**
   * @param address host:port of the service, any gRPC target ("dns:///name:port"), or the replicas' "ip:port" to balance over.
   * @param apiKey sent as "authorization: Bearer <key>".
   * @param includeDirs where the .proto files are (default: the package's protos/).
   * @param tls the channel's TLS; plaintext (loopback only) without `tls.ca`.
   * @param options balancing.
   */
  constructor(address: string | string[], apiKey: string, includeDirs?: string[],
              tls?: TlsOptions, options?: ChannelOptions);
  /** The options form: new Client({address, apiKey, tls: {ca, cert, key}, retry}). */
  constructor(options: ClientOptions);

  getMe(accountId: string, options?: ReadOptions): Promise<User__Output>;
  getUser(accountId: string, userId: string, options?: ReadOptions): Promise<User__Output>;
  batchGetUsers(accountId: string, userIds: Iterable<string>,
                options?: ReadOptions & {failOnMissing?: boolean}):
      Promise<BatchGetUsersResponse__Output>;
  listUsers(accountId: string, filters?: UserFilters): Pager<User__Output>;
  streamUsers(accountId: string, filters?: UserFilters): AsyncGenerator<User__Output>;
  getOrganization(accountId: string, organizationId: string, options?: ReadOptions):
      Promise<Organization__Output>;
  listOrganizations(accountId: string, options?: PageOptions): Pager<Organization__Output>;
  streamOrganizations(accountId: string, options?: PageOptions):
      AsyncGenerator<Organization__Output>;
  getWorkspace(accountId: string, workspaceId: string, options?: ReadOptions):
      Promise<Workspace__Output>;
  listWorkspaces(accountId: string, options?: PageOptions & {organizationId?: string}):
      Pager<Workspace__Output>;
  streamWorkspaces(accountId: string, options?: PageOptions & {organizationId?: string}):
      AsyncGenerator<Workspace__Output>;
  listRoleAssignments(accountId: string, filters?: RoleAssignmentFilters):
      Pager<RoleAssignment__Output>;
  streamRoleAssignments(accountId: string, filters?: RoleAssignmentFilters):
      AsyncGenerator<RoleAssignment__Output>;
  listRoles(accountId: string, options?: ReadOptions): Pager<Role__Output>;
  getRole(accountId: string, roleId: string, options?: ReadOptions): Promise<Role__Output>;
  /** Whether and how the account is watched. */
  getWatchStatus(accountId: string, options?: CallOptions): Promise<WatchStatus__Output>;
  /** Pauses (false) or resumes (true) watching the account. */
  setWatching(accountId: string, watching: boolean, options?: CallOptions):
      Promise<WatchStatus__Output>;
  /** WatchDirectory's events until the caller stops iterating. */
  watch(options?: WatchOptions): AsyncGenerator<DirectoryEvent__Output>;
  /** A link session for one of your customers (docs/linking.md): open its `url` in their browser. */
  createLinkSession(options: LinkSessionOptions): Promise<CreateLinkSessionResponse__Output>;

  /** The raw stubs (no retries; pass client.keyMetadata() with each call when plaintext). */
  readonly directory: UserDirectoryClient;
  readonly accounts: IntegratedAccountsClient;
  readonly proxy: ProxyClient;

  /** The metadata a raw stub's call carries: the API key on a plaintext channel, else empty. */
  keyMetadata(): grpc.Metadata;

  /**
   * A unary call, e.g. call(client.directory, 'GetMe', {integrated_account_id}).
   * Waits out RetryInfo and tries again within the deadline where the reason
   * says retrying helps; read methods are also retried when the server was
   * not reached. Rejects with UnifiedError.
   */
  call<S, M extends UnaryMethod<S>>(stub: S, method: M, request: RequestOf<S[M]>,
                                    options?: CallOptions): Promise<ResponseOf<S[M]>>;

  /**
   * Each record of a Stream* listing once, in order, resuming from the last
   * cursor after UNAVAILABLE, a stall or a retryable error. timeoutMs bounds
   * the whole listing (default 300 s).
   */
  records<M extends StreamMethod>(method: M, request: RequestOf<UserDirectoryClient[M]>,
                                  options?: CallOptions): AsyncGenerator<RecordOf<M>>;

  /** WatchDirectory's events, resumed from the last resume_token (no deadline unless given). */
  events(request: WatchDirectoryRequest, options?: CallOptions):
      AsyncGenerator<DirectoryEvent__Output>;

  /** The UnifiedError of an error from a raw stub's call. */
  toUnifiedError(error: unknown): UnifiedError;

  /** Closes the channels. */
  close(): void;
}

/** Where the .proto files are: the package's protos/, else the repository's. */
export function defaultIncludeDirs(): string[];
