// Node.js client of the unified User Directory service, on @grpc/grpc-js
// with the .proto files loaded at run time by @grpc/proto-loader.
//
// - The API key goes with every call (call credentials over TLS).
// - Unary calls wait out the server's RetryInfo and try again within their
//   deadline where the error's reason says retrying helps.
// - records() and events() resume a stream after UNAVAILABLE from its last
//   cursor or resume token, yielding each record once.
// - Failures are UnifiedError, with the ErrorInfo reason and metadata.
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
// null) and the server's message.
class UnifiedError extends Error {
  constructor(code, message, reason = null, metadata = {}, retryDelayMs = null) {
    super(`${code}: ${message} (reason ${reason})`);
    this.name = 'UnifiedError';
    this.code = code;
    this.details = message;
    this.reason = reason;
    this.metadata = metadata;
    this.retryDelayMs = retryDelayMs;
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
  constructor(address, apiKey, includeDirs = defaultIncludeDirs(), tls = {},
              {balance = typeof address !== 'string'} = {}) {
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
    const read = (file) => (file ? fs.readFileSync(file) : null);
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
          grpc.credentials.createSsl(read(tls.ca), read(tls.key), read(tls.cert)),
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
  toUnifiedError(error) {
    if (error instanceof UnifiedError) return error;
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
    return new UnifiedError(CODE_NAMES[error.code] || 'UNKNOWN',
                            error.details || error.message, reason, metadata,
                            retryDelayMs);
  }

  // Milliseconds to wait before trying `method` again, or null: give up.
  waitBeforeRetry(method, error, tries, deadline) {
    let wait;
    if (error.retryable) {
      wait = error.retryDelayMs !== null ? error.retryDelayMs :
          Math.min(LAST_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** tries);
    } else if (error.unanswered &&
               READ_PREFIXES.some((prefix) => method.startsWith(prefix))) {
      wait = Math.min(LAST_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** tries);
    } else {
      return null;
    }
    // Only when the try after the wait can still finish in time.
    return Date.now() + wait >= deadline ? null : wait;
  }

  // A unary call as a promise, retried as above:
  // client.call(client.directory, 'GetMe', {...}, {timeoutMs, onRetry}).
  // onRetry(error, waitMs) is told of each retry. Rejects with UnifiedError.
  async call(stub, method, request, {timeoutMs = 30000, onRetry} = {}) {
    const deadline = Date.now() + timeoutMs;
    for (let tries = 0; ; ++tries) {
      try {
        return await new Promise((resolve, reject) => {
          stub[method](request, this.keyMetadata(), {deadline},
                       (error, response) => error ? reject(error) : resolve(response));
        });
      } catch (raw) {
        const error = this.toUnifiedError(raw);
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
  async* resumed(method, request, advance, {timeoutMs, onRetry}) {
    const deadline = Date.now() + timeoutMs;
    request = {...request};
    for (let tries = 0; ; ++tries) {
      const call = this.directory[method](request, this.keyMetadata(), {deadline});
      call.on('error', () => {});  // Seen by the iteration below.
      try {
        for await (const message of call) {
          tries = 0;
          yield message;
          if (!advance(request, message)) return;
        }
        return;
      } catch (raw) {
        const error = this.toUnifiedError(raw);
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
  async* records(method, request, {timeoutMs = 300000, onRetry} = {}) {
    const advance = (req, page) => {
      req.cursor = page.next_cursor;
      return page.next_cursor !== '';
    };
    for await (const page of this.resumed(method, request, advance,
                                          {timeoutMs, onRetry})) {
      yield* page.result;
    }
  }

  // WatchDirectory's events, resumed from the last resume_token after
  // UNAVAILABLE: no event after it is lost or repeated. A snapshot cut
  // short before its first resume_token is sent again whole.
  events(request, {timeoutMs = 3600000, onRetry} = {}) {
    const advance = (req, event) => {
      if (event.resume_token) {
        req.resume_token = event.resume_token;
        req.include_snapshot = false;
      }
      return true;
    };
    return this.resumed('WatchDirectory', request, advance, {timeoutMs, onRetry});
  }

  close() {
    for (const stub of [this.directory, this.accounts, this.proxy]) {
      stub.close();
    }
  }
}

module.exports = {Client, UnifiedError, RETRY_REASONS, defaultIncludeDirs};
