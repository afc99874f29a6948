// Node.js client of the unified User Directory service, on @grpc/grpc-js
// with the .proto files loaded at run time by @grpc/proto-loader.
//
// - The API key goes with every call (call credentials over TLS).
// - Unary calls wait out the server's RetryInfo and try again within their
//   deadline where the error's reason says retrying helps.
// - records() and events() resume a stream after UNAVAILABLE from its last
//   cursor or resume token, yielding each record once.
// - Failures are UnifiedError subclasses by reason (NotFound, RateLimited,
//   ...), with the ErrorInfo reason and metadata and the call's request id.
// - camelCase calls (getMe, listUsers -> a Pager, streamUsers, watch, ...)
//   take one options object: the request's fields, `fields` (a read mask),
//   and per-call options (timeoutMs or deadline, requestId, metadata).
// Types: index.d.ts. Guide: docs/clients.md.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const SERVICES = [
  'proto/unified/v1/user_directory.proto',
  'proto/unified/v1/integrated_accounts.proto',
  'proto/unified/v1/proxy.proto',
];

// Reasons whose errors a later try can cure (proto/unified/v1/errors.proto);
// the server puts a RetryInfo on each.
const RETRY_REASONS = new Set([
  'UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'STORE_LOCK_TIMEOUT',
  'SERVER_SHUTTING_DOWN',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_RATE_LIMITED',
  'RATE_BUDGET_EXHAUSTED',
  'REFRESH_RATE_LIMITED',
  'TENANT_CONCURRENCY_EXHAUSTED',
  'TENANT_STREAMS_EXHAUSTED',
  'TENANT_WATCH_STREAMS_EXHAUSTED',
  'WATCH_STREAMS_EXHAUSTED',
]);

// Codes of a failure outside the service: gRPC's own (no connection, a
// broken one) and a proxy's reset of a stream (UNKNOWN, INTERNAL).
const TRANSPORT_CODES = new Set(['UNAVAILABLE', 'UNKNOWN', 'INTERNAL']);

// Methods that only read: retried also when the server was not reached.
const READ_PREFIXES = ['Get', 'List', 'BatchGet', 'Stream', 'Watch'];
// Waits when the server gave no RetryInfo: doubling from first to last.
const FIRST_BACKOFF_MS = 50;
const LAST_BACKOFF_MS = 1000;

// Where the .proto files are: the package's own copy (npm pack puts it in
// protos/), else the repository's: its root, the build's google/rpc protos,
// and protobuf's well-known types.
function defaultIncludeDirs() {
  const packed = path.join(__dirname, 'protos');
  if (fs.existsSync(path.join(packed, 'proto'))) return [packed, '/usr/include'];
  const root = path.resolve(__dirname, '../../..');
  return [root, path.join(root, 'bazel-bin/tools/protos'), '/usr/include'];
}

const CODE_NAMES = Object.fromEntries(
    Object.entries(grpc.status).map(([name, number]) => [number, name]));

// A failed call: code (the gRPC code's name, e.g. 'RESOURCE_EXHAUSTED'),
// reason and metadata (the ErrorInfo's), retryDelayMs (the RetryInfo's, or
// null), the server's message and the call's request id (x-request-id, as
// the server's access log names the call). Thrown as the subclass the
// reason (else the code) names: NotFound, RateLimited, ...
class UnifiedError extends Error {
  constructor(code, message, reason = null, metadata = {}, retryDelayMs = null,
              requestId = null) {
    super(`${code}: ${message} (reason ${reason})`);
    this.name = new.target.name;
    this.code = code;
    this.details = message;
    this.reason = reason;
    this.metadata = metadata;
    this.retryDelayMs = retryDelayMs;
    this.requestId = requestId;
  }

  // The RetryInfo delay in milliseconds (retryDelayMs), or null.
  get retryAfterMs() {
    return this.retryDelayMs;
  }

  // Whether trying again later can succeed: the reason says so.
  get retryable() {
    return RETRY_REASONS.has(this.reason);
  }

  // Whether the service never answered: it puts an ErrorInfo on every
  // error, so one without is the transport's or a proxy's (the connection
  // failed or broke, e.g. a load balancer resetting a stream whose replica
  // died).
  get unanswered() {
    return this.reason === null && TRANSPORT_CODES.has(this.code);
  }
}

class InvalidArgument extends UnifiedError {}
class Unauthenticated extends UnifiedError {}
class PermissionDenied extends UnifiedError {}
class NotFound extends UnifiedError {}
class FailedPrecondition extends UnifiedError {}
class NeedsReauth extends FailedPrecondition {}
class RateLimited extends UnifiedError {}
class Unavailable extends UnifiedError {}
class DeadlineExceeded extends UnifiedError {}
class Cancelled extends UnifiedError {}

const ERRORS_BY_REASON = {NEEDS_REAUTH: NeedsReauth};
const ERRORS_BY_CODE = {
  INVALID_ARGUMENT: InvalidArgument,
  OUT_OF_RANGE: InvalidArgument,
  UNAUTHENTICATED: Unauthenticated,
  PERMISSION_DENIED: PermissionDenied,
  NOT_FOUND: NotFound,
  FAILED_PRECONDITION: FailedPrecondition,
  RESOURCE_EXHAUSTED: RateLimited,
  UNAVAILABLE: Unavailable,
  DEADLINE_EXCEEDED: DeadlineExceeded,
  CANCELLED: Cancelled,
};

// The UnifiedError subclass of an error's reason, else of its code.
function errorClass(code, reason) {
  return ERRORS_BY_REASON[reason] || ERRORS_BY_CODE[code] || UnifiedError;
}

// When and how often calls are tried again ({retry} of the client's
// options): attempts counts the first try (null: as many as the deadline
// allows); the backoffs are the waits when the server named none (it was not
// reached), doubling; reasons are those worth another try (the server's
// RetryInfo sets their wait).
function retryPolicy({attempts = null, initialBackoffMs = FIRST_BACKOFF_MS,
  maxBackoffMs = LAST_BACKOFF_MS, reasons = RETRY_REASONS} = {}) {
  if (attempts !== null && attempts < 1) throw new Error('retry.attempts must be at least 1');
  if (initialBackoffMs < 0 || maxBackoffMs < initialBackoffMs) {
    throw new Error('0 <= retry.initialBackoffMs <= retry.maxBackoffMs');
  }
  return {attempts, initialBackoffMs, maxBackoffMs, reasons: new Set(reasons)};
}

// A PEM given as a Buffer or a file path.
function pem(value) {
  if (value === undefined || value === null) return null;
  return Buffer.isBuffer(value) ? value : fs.readFileSync(value);
}

function hostOf(address) {
  return address.replace(/^dns:.*\//, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

function isLoopback(address) {
  const host = hostOf(address);
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

// Client-side balancing (docs/clients.md): a call to each connected replica
// in turn. grpc-js has no client-side health checking: a replica that is up
// but not ready still gets calls, and its retryable answers
// (STORE_UNAVAILABLE) are retried, on the next replica.
const BALANCED_SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{round_robin: {}}],
});

// The gRPC target of `address`: as it is when a string; for an array of
// "ip:port", one ipv4: or ipv6: target listing them all.
function targetOf(address) {
  if (typeof address === 'string') return address;
  if (address.length === 0) throw new Error('no address to balance over');
  const versions = new Set(address.map((one) => net.isIP(hostOf(one))));
  if (versions.has(0)) {
    throw new Error('a list of replicas is of IP addresses; for a name use dns:///NAME:PORT');
  }
  if (versions.size !== 1) throw new Error('a list of replicas is of one IP version');
  return `ipv${[...versions][0]}:${address.join(',')}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// `address`: "host:port", any gRPC target ("dns:///name:port"), or an array
// of replicas' "ip:port". With an array, or with `balance`, calls are
// balanced over the replicas round-robin.
// `tls` (optional): {ca, cert, key, serverName}, file paths of the server's
// CA and, for mutual TLS, this client's certificate and key; serverName
// overrides the name checked in the server's certificate. Without `tls.ca`
// the channel is plaintext, which the client allows to loopback only.
class Client {
  // new Client({address, apiKey, tls: {ca, cert, key, serverName}, balance,
  // retry, timeoutMs, includeDirs}); tls's PEMs are Buffers or file paths.
  // The positional form Client(address, apiKey, includeDirs, tls, {balance})
  // is kept.
  constructor(address, apiKey, includeDirs = defaultIncludeDirs(), tls = {},
              {balance = undefined} = {}) {
    let retry = {};
    let timeoutMs = 30000;
    if (address !== null && typeof address === 'object' && !Array.isArray(address)) {
      const options = address;
      if (!options.address || !options.apiKey) {
        throw new Error('new Client({address, apiKey, ...}): address and apiKey are required');
      }
      ({address, apiKey} = options);
      includeDirs = options.includeDirs || defaultIncludeDirs();
      tls = options.tls || {};
      balance = options.balance;
      retry = options.retry || {};
      timeoutMs = options.timeoutMs || timeoutMs;
    }
    if (balance === undefined) balance = typeof address !== 'string';
    this.retry = retryPolicy(retry);
    this.timeoutMs = timeoutMs;
    const addresses = typeof address === 'string' ? [address] : address;
    const target = targetOf(address);
    const definition = protoLoader.loadSync(SERVICES, {
      includeDirs,
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const v1 = grpc.loadPackageDefinition(definition).unified.v1;
    // Each request message's field names, to check the filters of the
    // camelCase calls.
    this.fieldsOf = (name) => new Set(
        definition[`unified.v1.${name}`].type.field.map((field) => field.name));
    const options = {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    };
    if (balance) options['grpc.service_config'] = BALANCED_SERVICE_CONFIG;
    let credentials;
    if (tls.ca) {
      // The API key as call credentials: "authorization: Bearer KEY".
      const key = grpc.credentials.createFromMetadataGenerator(
          (unused, callback) => {
            const metadata = new grpc.Metadata();
            metadata.set('authorization', 'Bearer ' + apiKey);
            callback(null, metadata);
          });
      credentials = grpc.credentials.combineChannelCredentials(
          grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert)),
          key);
      if (tls.serverName) options['grpc.ssl_target_name_override'] = tls.serverName;
      this.keyMetadata = () => new grpc.Metadata();
    } else {
      if (!addresses.every(isLoopback)) {
        throw new Error(`a plaintext channel only to loopback; give tls.ca for ${target}`);
      }
      // gRPC sends call credentials over TLS only: the key goes as metadata.
      credentials = grpc.credentials.createInsecure();
      this.keyMetadata = () => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', 'Bearer ' + apiKey);
        return metadata;
      };
    }
    this.directory = new v1.UserDirectory(target, credentials, options);
    this.accounts = new v1.IntegratedAccounts(target, credentials, options);
    this.proxy = new v1.Proxy(target, credentials, options);

    const rpc = new protobuf.Root();
    rpc.resolvePath = (origin, target) => {
      for (const dir of includeDirs) {
        const candidate = path.join(dir, target);
        if (fs.existsSync(candidate)) return candidate;
      }
      return target;
    };
    rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'],
                 {keepCase: true});
    this.Status = rpc.lookupType('google.rpc.Status');
    this.ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');
    this.RetryInfo = rpc.lookupType('google.rpc.RetryInfo');
  }

  // The UnifiedError of an error from a grpc-js call.
  toUnifiedError(error, initialMetadata = null) {
    if (error instanceof UnifiedError) return error;
    let requestId = null;
    for (const metadata of [initialMetadata, error.metadata]) {
      const id = metadata && metadata.get('x-request-id');
      if (id && id.length > 0) requestId = String(id[0]);
    }
    let reason = null;
    let metadata = {};
    let retryDelayMs = null;
    const raw = error.metadata && error.metadata.get('grpc-status-details-bin');
    if (raw && raw.length > 0) {
      const status = this.Status.decode(raw[0]);
      for (const any of status.details) {
        if (any.type_url.endsWith('/google.rpc.ErrorInfo')) {
          const info = this.ErrorInfo.decode(any.value);
          reason = info.reason;
          metadata = info.metadata;
        } else if (any.type_url.endsWith('/google.rpc.RetryInfo')) {
          const delay = this.RetryInfo.decode(any.value).retry_delay || {};
          retryDelayMs = Number(delay.seconds || 0) * 1000 +
              (delay.nanos || 0) / 1e6;
        }
      }
    }
    const code = CODE_NAMES[error.code] || 'UNKNOWN';
    const Kind = errorClass(code, reason);
    return new Kind(code, error.details || error.message, reason, metadata,
                    retryDelayMs, requestId);
  }

  // Milliseconds to wait before trying `method` again, or null: give up.
  waitBeforeRetry(method, error, tries, deadline) {
    const retry = this.retry;
    if (retry.attempts !== null && tries + 1 >= retry.attempts) return null;
    const backoff = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** tries);
    let wait;
    if (retry.reasons.has(error.reason)) {
      wait = error.retryDelayMs !== null ? error.retryDelayMs : backoff;
    } else if (error.unanswered &&
               READ_PREFIXES.some((prefix) => method.startsWith(prefix))) {
      wait = backoff;
    } else {
      return null;
    }
    // Only when the try after the wait can still finish in time.
    return Date.now() + wait >= deadline ? null : wait;
  }

  // The deadline (ms since the epoch, Infinity for none) of a call's
  // options: `deadline` (a Date or ms since the epoch), else `timeoutMs`
  // from now, else `fallbackMs` (null: none).
  deadlineOf({deadline, timeoutMs}, fallbackMs) {
    if (deadline !== undefined && deadline !== null) return Number(deadline);
    const ms = timeoutMs !== undefined ? timeoutMs : fallbackMs;
    return ms === null ? Infinity : Date.now() + ms;
  }

  // The metadata of one call: the API key (plaintext channels), the
  // caller's requestId as x-request-id, and the caller's own `metadata`.
  callMetadata({requestId, metadata} = {}) {
    const out = this.keyMetadata();
    if (requestId) out.set('x-request-id', String(requestId));
    for (const [name, value] of Object.entries(metadata || {})) {
      out.set(name, String(value));
    }
    return out;
  }

  // A unary call as a promise, retried as above:
  // client.call(client.directory, 'GetMe', {...},
  //             {timeoutMs | deadline, requestId, metadata, onRetry}).
  // onRetry(error, waitMs) is told of each retry. Rejects with UnifiedError.
  async call(stub, method, request, options = {}) {
    const {onRetry} = options;
    const deadline = this.deadlineOf(options, this.timeoutMs);
    for (let tries = 0; ; ++tries) {
      let initial = null;
      try {
        return await new Promise((resolve, reject) => {
          const call = stub[method](
              request, this.callMetadata(options), {deadline},
              (error, response) => error ? reject(error) : resolve(response));
          call.on('metadata', (metadata) => { initial = metadata; });
        });
      } catch (raw) {
        const error = this.toUnifiedError(raw, initial);
        const wait = this.waitBeforeRetry(method, error, tries, deadline);
        if (wait === null) throw error;
        if (onRetry) onRetry(error, wait);
        await sleep(wait);
      }
    }
  }

  // The messages of stream `method`, opened again with `request` after a
  // failure worth retrying; advance(request, message) moves the request
  // past a message once it is taken and says whether more follow.
  async* resumed(method, request, advance, options) {
    const {onRetry} = options;
    const deadline = this.deadlineOf(options, null);
    request = {...request};
    for (let tries = 0; ; ++tries) {
      const call = this.directory[method](request, this.callMetadata(options), {deadline});
      let initial = null;
      call.on('metadata', (metadata) => { initial = metadata; });
      call.on('error', () => {});  // Seen by the iteration below.
      try {
        for await (const message of call) {
          tries = 0;
          yield message;
          if (!advance(request, message)) return;
        }
        return;
      } catch (raw) {
        const error = this.toUnifiedError(raw, initial);
        const stalled = error.reason === 'STREAM_STALLED';
        const wait = stalled ? 0 : this.waitBeforeRetry(method, error, tries, deadline);
        if (wait === null) throw error;
        if (onRetry) onRetry(error, wait);
        await sleep(wait);
      } finally {
        call.cancel();  // Ends it when the caller stops reading.
      }
    }
  }

  // Each record of a Stream* listing ('StreamUsers', ...) once, in order.
  // After UNAVAILABLE, a stall or a retryable error the stream is opened
  // again at the cursor after the last message taken: nothing is lost or
  // repeated. Throws UnifiedError otherwise, or when timeoutMs (the whole
  // listing) runs out.
  async* records(method, request, options = {}) {
    const advance = (req, page) => {
      req.cursor = page.next_cursor;
      return page.next_cursor !== '';
    };
    const withDefault = {timeoutMs: 300000, ...options};
    for await (const page of this.resumed(method, request, advance, withDefault)) {
      yield* page.result;
    }
  }

  // WatchDirectory's events, resumed from the last resume_token after
  // UNAVAILABLE: no event after it is lost or repeated. A snapshot cut
  // short before its first resume_token is sent again whole. Runs until the
  // caller stops iterating (or a given timeoutMs / deadline).
  events(request, options = {}) {
    const advance = (req, event) => {
      if (event.resume_token) {
        req.resume_token = event.resume_token;
        req.include_snapshot = false;
      }
      return true;
    };
    return this.resumed('WatchDirectory', request, advance, options);
  }

  close() {
    for (const stub of [this.directory, this.accounts, this.proxy]) {
      stub.close();
    }
  }

  // The camelCase calls: an account id, then one options object holding the
  // request's fields in camelCase (organizationId, query, ...), `fields`
  // (the read mask's paths), `pageSize`, and the call's own options
  // (timeoutMs or deadline, requestId, metadata, onRetry). Unary calls
  // return a promise; list* a Pager; stream* and watch async iterators.

  // The request `type` for `accountId` and the fields of `options`; the
  // call options apart. TypeError for a field the request lacks.
  request(type, accountId, options = {}) {
    const known = this.fieldsOf(type);
    const request = {integrated_account_id: accountId};
    const call = {};
    for (const [name, value] of Object.entries(options)) {
      if (CALL_OPTIONS.has(name)) {
        call[name] = value;
      } else if (name === 'fields') {
        request.read_mask = {paths: [...value]};
      } else if (name === 'pageSize') {
        request.limit = value;
      } else {
        const field = name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
        if (!known.has(field)) throw new TypeError(`${type} has no field ${name}`);
        request[field] = value;
      }
    }
    return {request, call};
  }

  unary(method, type, accountId, options) {
    const {request, call} = this.request(type, accountId, options);
    return this.call(this.directory, method, request, call);
  }

  pager(method, type, accountId, options) {
    const {request, call} = this.request(type, accountId, options);
    return new Pager((page) => this.call(this.directory, method, page, call), request);
  }

  stream(method, type, accountId, options) {
    const {request, call} = this.request(type, accountId, options);
    return this.records(method, request, call);
  }

  getMe(accountId, options) {
    return this.unary('GetMe', 'GetMeRequest', accountId, options);
  }
  getUser(accountId, userId, options = {}) {
    return this.unary('GetUser', 'GetUserRequest', accountId, {...options, userId});
  }
  batchGetUsers(accountId, userIds, options = {}) {
    return this.unary('BatchGetUsers', 'BatchGetUsersRequest', accountId,
                      {...options, userIds: [...userIds]});
  }
  listUsers(accountId, options) {
    return this.pager('ListUsers', 'ListUsersRequest', accountId, options);
  }
  streamUsers(accountId, options) {
    return this.stream('StreamUsers', 'ListUsersRequest', accountId, options);
  }
  getOrganization(accountId, organizationId, options = {}) {
    return this.unary('GetOrganization', 'GetOrganizationRequest', accountId,
                      {...options, organizationId});
  }
  listOrganizations(accountId, options) {
    return this.pager('ListOrganizations', 'ListOrganizationsRequest', accountId, options);
  }
  streamOrganizations(accountId, options) {
    return this.stream('StreamOrganizations', 'ListOrganizationsRequest', accountId, options);
  }
  getWorkspace(accountId, workspaceId, options = {}) {
    return this.unary('GetWorkspace', 'GetWorkspaceRequest', accountId,
                      {...options, workspaceId});
  }
  listWorkspaces(accountId, options) {
    return this.pager('ListWorkspaces', 'ListWorkspacesRequest', accountId, options);
  }
  streamWorkspaces(accountId, options) {
    return this.stream('StreamWorkspaces', 'ListWorkspacesRequest', accountId, options);
  }
  listRoleAssignments(accountId, options) {
    return this.pager('ListRoleAssignments', 'ListRoleAssignmentsRequest', accountId, options);
  }
  streamRoleAssignments(accountId, options) {
    return this.stream('StreamRoleAssignments', 'ListRoleAssignmentsRequest', accountId,
                       options);
  }
  listRoles(accountId, options) {
    return this.pager('ListRoles', 'ListRolesRequest', accountId, options);
  }
  getRole(accountId, roleId, options = {}) {
    return this.unary('GetRole', 'GetRoleRequest', accountId, {...options, roleId});
  }
  // Whether and how the account is watched (UserDirectory.GetWatchStatus).
  getWatchStatus(accountId, options = {}) {
    return this.unary('GetWatchStatus', 'GetWatchStatusRequest', accountId, options);
  }
  // Pauses (false) or resumes (true) watching the account.
  setWatching(accountId, watching, options = {}) {
    return this.unary('SetWatching', 'SetWatchingRequest', accountId, {...options, watching});
  }

  // WatchDirectory's events for one account (accountId), several
  // (accountIds) or all (allAccounts): an async iterator that runs until
  // the caller stops.
  // A link session for one of your customers: {link_token, url, expire_time}
  // (IntegratedAccounts.CreateLinkSession; docs/linking.md). Open `url` in
  // the customer's browser, e.g. with unified-directory-link's openLink.
  createLinkSession({endCustomerId, returnUrl, displayName = '', providers = [],
    integratedAccountId = '', state = '', ttlSeconds = 0, ...call} = {}) {
    return this.call(this.accounts, 'CreateLinkSession', {
      end_customer_id: endCustomerId,
      return_url: returnUrl,
      display_name: displayName,
      providers: [...providers],
      integrated_account_id: integratedAccountId,
      state,
      ttl_seconds: ttlSeconds,
    }, call);
  }

  watch({accountId = '', accountIds = [], allAccounts = false, includeSnapshot = false,
    resumeToken = '', ...call} = {}) {
    return this.events({
      integrated_account_id: accountId,
      integrated_account_ids: [...accountIds],
      all_accounts: allAccounts,
      include_snapshot: includeSnapshot,
      resume_token: resumeToken,
    }, call);
  }
}

// The options of one call, apart from the request's fields.
const CALL_OPTIONS = new Set(['timeoutMs', 'deadline', 'requestId', 'metadata', 'onRetry']);

// A List* call's records across every page, each page one unary call when
// the one before is used up: `for await (const user of client.listUsers(id))`;
// `for await (const page of pager.pages())` for the answers themselves.
class Pager {
  constructor(fetch, request) {
    this.fetch = fetch;
    this.first = {...request};
  }

  async* pages() {
    const request = {...this.first};
    for (;;) {
      const page = await this.fetch(request);
      yield page;
      if (!page.next_cursor) return;
      request.cursor = page.next_cursor;
    }
  }

  async* [Symbol.asyncIterator]() {
    for await (const page of this.pages()) yield* page.result;
  }
}

module.exports = {
  Client, Pager, UnifiedError, InvalidArgument, Unauthenticated, PermissionDenied,
  NotFound, FailedPrecondition, NeedsReauth, RateLimited, Unavailable,
  DeadlineExceeded, Cancelled, RETRY_REASONS, defaultIncludeDirs,
};
