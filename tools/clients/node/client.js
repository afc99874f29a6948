// A small Node.js client of the unified User Directory service, on
// @grpc/grpc-js with the .proto files loaded at run time by
// @grpc/proto-loader. Every call carries the API key; errorDetails() reads
// gRPC's rich error details (reason, metadata, retry delay).
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const SERVICES = [
  'proto/unified/v1/user_directory.proto',
  'proto/unified/v1/integrated_accounts.proto',
  'proto/unified/v1/proxy.proto',
];

// Where the .proto files are: the repository root (proto/unified/v1), the
// build's extracted google/rpc protos, and protobuf's well-known types.
function defaultIncludeDirs() {
  const root = path.resolve(__dirname, '../../..');
  return [root, path.join(root, 'bazel-bin/tools/protos'), '/usr/include'];
}

// `tls` (optional): {ca, cert, key, serverName}, file paths of the server's
// CA and, for mutual TLS, this client's certificate and key; serverName
// overrides the name checked in the server's certificate. Without `tls.ca`:
// plaintext, for loopback only.
class Client {
  constructor(address, apiKey, includeDirs = defaultIncludeDirs(), tls = {}) {
    const definition = protoLoader.loadSync(SERVICES, {
      includeDirs,
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const v1 = grpc.loadPackageDefinition(definition).unified.v1;
    const read = (file) => (file ? fs.readFileSync(file) : null);
    const credentials = tls.ca
      ? grpc.credentials.createSsl(read(tls.ca), read(tls.key), read(tls.cert))
      : grpc.credentials.createInsecure();
    const options = tls.serverName
      ? {'grpc.ssl_target_name_override': tls.serverName}
      : {};
    this.directory = new v1.UserDirectory(address, credentials, options);
    this.accounts = new v1.IntegratedAccounts(address, credentials, options);
    this.proxy = new v1.Proxy(address, credentials, options);
    this.apiKey = apiKey;

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

  metadata() {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer ' + this.apiKey);
    return metadata;
  }

  // A unary call as a promise: client.call(client.directory, 'GetMe', {...}).
  call(stub, method, request, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      stub[method](request, this.metadata(),
                   {deadline: Date.now() + timeoutMs},
                   (error, response) => error ? reject(error) : resolve(response));
    });
  }

  // Every message of a server-streaming call, as an async iterable.
  stream(stub, method, request, timeoutMs = 300000) {
    return stub[method](request, this.metadata(),
                        {deadline: Date.now() + timeoutMs});
  }

  // The rich details of a failed call: code, message, reason, metadata and
  // retryDelaySeconds (null when the server gave none).
  errorDetails(error) {
    const details = {
      code: Object.keys(grpc.status).find((k) => grpc.status[k] === error.code),
      message: error.details,
      reason: null,
      metadata: {},
      retryDelaySeconds: null,
    };
    const raw = error.metadata && error.metadata.get('grpc-status-details-bin');
    if (raw && raw.length > 0) {
      const status = this.Status.decode(raw[0]);
      for (const any of status.details) {
        if (any.type_url.endsWith('/google.rpc.ErrorInfo')) {
          const info = this.ErrorInfo.decode(any.value);
          details.reason = info.reason;
          details.metadata = info.metadata;
        } else if (any.type_url.endsWith('/google.rpc.RetryInfo')) {
          const retry = this.RetryInfo.decode(any.value);
          const delay = retry.retry_delay || {};
          details.retryDelaySeconds =
              Number(delay.seconds || 0) + (delay.nanos || 0) / 1e9;
        }
      }
    }
    return details;
  }

  close() {
    for (const stub of [this.directory, this.accounts, this.proxy]) {
      stub.close();
    }
  }
}

module.exports = {Client, defaultIncludeDirs};
