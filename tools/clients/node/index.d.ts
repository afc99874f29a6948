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

/** A failed call, with the ErrorInfo and RetryInfo the server attached. */
export class UnifiedError extends Error {
  constructor(code: string, message: string, reason?: string | null,
              metadata?: Record<string, string>, retryDelayMs?: number | null);
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

/** A channel's TLS: file paths (PEM). Without `ca` the channel is plaintext, to loopback only. */
export interface TlsOptions {
  /** The CA that signed the server's certificate. */
  ca?: string;
  /** This client's certificate, for mutual TLS. */
  cert?: string;
  /** This client's private key, for mutual TLS. */
  key?: string;
  /** The name checked in the server's certificate, e.g. 'localhost' when dialling 127.0.0.1. */
  serverName?: string;
}

/** How one call (or one whole stream) is made. */
export interface CallOptions {
  /** The deadline in milliseconds from now, retries and waits included. */
  timeoutMs?: number;
  /** Told of each retry before its wait: the error and the wait in milliseconds. */
  onRetry?: (error: UnifiedError, waitMs: number) => void;
}

/** How the channel picks a server. */
export interface ChannelOptions {
  /** Round-robin over the target's addresses (default: when `address` is an array). */
  balance?: boolean;
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

  /** WatchDirectory's events, resumed from the last resume_token (default deadline 1 h). */
  events(request: WatchDirectoryRequest, options?: CallOptions):
      AsyncGenerator<DirectoryEvent__Output>;

  /** The UnifiedError of an error from a raw stub's call. */
  toUnifiedError(error: unknown): UnifiedError;

  /** Closes the channels. */
  close(): void;
}

/** Where the .proto files are: the package's protos/, else the repository's. */
export function defaultIncludeDirs(): string[];
