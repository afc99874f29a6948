// Compiled by node_package_runner.sh against the packed package's types:
// each marked line must be refused (the runner counts the errors).
import {Client} from 'unified-directory-client';

async function misuse(client: Client): Promise<void> {
  await client.call(client.directory, 'GetMee', {});  // ERROR: no such method
  await client.call(client.directory, 'GetMe', {integrated_acount_id: 'ia'});  // ERROR: no such field
  const me = await client.call(client.directory, 'GetMe', {});
  const id: number = me.id;  // ERROR: id is a string
  for await (const user of client.records('StreamUsers', {})) {
    console.log(user.display_name, id);  // ERROR: no such field
  }
  client.records('ListUsers', {});  // ERROR: not a stream
  client.listUsers('ia', {qury: 'ann'});  // ERROR: no such filter
  const roles = client.listRoles('ia');
  for await (const role of roles) console.log(role.display_name);  // ERROR: no such field
  new Client({address: '127.0.0.1:1'});  // ERROR: apiKey is required
  await client.getMe('ia', {deadline: 'soon'});  // ERROR: a deadline is a Date or a number
}

export {misuse};
