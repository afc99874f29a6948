// Compiled (tsc --strict --noEmit) against the SDK's types by
// link_browser_runner.sh: the README's use must type-check, and each
// "ERROR:" line must be refused on that line.
import {openLink, LinkSuccess, LinkExit, LinkHandle} from 'unified-directory-link';

const handle: LinkHandle = openLink({
  url: 'https://svc.example/link?link_token=lt_x',
  onSuccess: (r: LinkSuccess) => console.log(r.integratedAccountId, r.provider, r.state),
  onExit: (e: LinkExit) => console.log(e.reason),
  timeoutMs: 60000,
});
const redirected: boolean = handle.redirected;
handle.close();
console.log(redirected);

openLink({onSuccess: () => {}});  // ERROR: url is required
openLink({url: 'x', timeoutMs: '60'});  // ERROR: a number
openLink({url: 'x', onSuccess: (r) => r.accountId});  // ERROR: no such field
