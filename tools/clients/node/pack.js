// Run by `npm pack` (prepack): puts what the package needs from the rest
// of the repository into it.
// - protos/: the service's .proto files and google/rpc's (written by
//   tools/protos/google_rpc_protos.py), which client.js loads at run time.
// - types/: TypeScript types of every message and service, generated from
//   those files by proto-loader-gen-types; index.d.ts imports them.
// Both directories are build outputs (.gitignore). Guide: docs/clients.md.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '../../..');
const protos = path.join(here, 'protos');
const types = path.join(here, 'types');
const services = ['user_directory', 'integrated_accounts', 'proxy'].map(
    (name) => `proto/unified/v1/${name}.proto`);

function run(command, args) {
  childProcess.execFileSync(command, args, {stdio: 'inherit'});
}

for (const dir of [protos, types]) fs.rmSync(dir, {recursive: true, force: true});
const own = path.join(protos, 'proto/unified/v1');
fs.mkdirSync(own, {recursive: true});
const source = path.join(root, 'proto/unified/v1');
for (const file of fs.readdirSync(source)) {
  if (file.endsWith('.proto')) fs.copyFileSync(path.join(source, file), path.join(own, file));
}
run('python3', [path.join(root, 'tools/protos/google_rpc_protos.py'), protos]);
run(process.execPath, [
  require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js'),
  '--keepCase', '--longs=String', '--enums=String', '--defaults',
  '--grpcLib=@grpc/grpc-js', '-I', protos, '-I', '/usr/include', '-O', types,
  ...services,
]);
