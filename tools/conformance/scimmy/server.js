// A SCIM 2.0 service provider built on SCIMMY and scimmy-routers (third-party
// packages: the protocol, filters, paging and list responses are theirs),
// seeded with a directory for the connector conformance suite
// (tests/conformance/conformance_test.cc). What is ours is only the data,
// the bearer token check, and a test-only admin API on the side:
//
//   GET  /_admin/truth    the seeded users (with their groups) and groups
//   GET  /_admin/requests how many SCIM requests were served
//   POST /_admin/fault?kind=status|reset|truncate&status=N&skip=K&path=P
//                         the (K+1)-th SCIM request whose path starts with P
//                         fails that way, once
//   POST /_admin/clear    forget the fault
//   POST /_admin/users/create?after=ID
//                         another administrator adds a user, listed right
//                         after ID; answers {id}
//   POST /_admin/users/delete?id=ID
//                         ... deletes a user (and its group memberships)
//   POST /_admin/groups/member?group=G&user=ID&member=1|0
//                         ... adds a user to a group, or removes it
//
// Usage: node server.js [--users=N] [--groups=G] [--max_results=M]
// Prints "listening PORT" once it serves on 127.0.0.1.
"use strict";
const express = require("express");
const SCIMMY = require("scimmy").default;
const {SCIMMYRouters} = require("scimmy-routers");

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v];
}));
const USERS = Number(args.users ?? 60);
const GROUPS = Number(args.groups ?? 4);
const MAX_RESULTS = Number(args.max_results ?? 100);
const TOKEN = args.token ?? "scimmy-token";

// A small deterministic generator (no Math.random): the same sizes give
// the same directory.
let state = 12345;
const next = () => (state = (state * 1103515245 + 12345) % 2147483648);
// The high bits: a linear congruential generator's low bits cycle.
const pick = (list) => list[Math.floor(next() / 65536) % list.length];
const GIVEN = ["Ada", "Émile", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Ida", "Jo"];
const FAMILY = ["Lovelace", "Zola", "Berg", "Cole", "Dahl", "Eng", "Ford"];

const created = new Date(Date.UTC(2025, 0, 1)).toISOString();
const users = [];
for (let i = 1; i <= USERS; i++) {
  const given = pick(GIVEN);
  const family = pick(FAMILY);
  const id = `u${String(i).padStart(5, "0")}`;
  users.push({
    id,
    userName: `${given.toLowerCase()}.${family.toLowerCase()}.${i}`,
    displayName: `${given} ${family}`,
    name: {givenName: given, familyName: family, formatted: `${given} ${family}`},
    emails: [{value: `user${i}@example.test`, type: "work", primary: true}],
    active: Math.floor(next() / 65536) % 10 !== 0,
    title: i % 3 === 0 ? "Engineer" : "Analyst",
    meta: {created, lastModified: created},
  });
}
const groups = [];
for (let g = 1; g <= GROUPS; g++) {
  const id = `g${String(g).padStart(3, "0")}`;
  const members = users.filter((u, i) => (i + g) % (g + 1) === 0)
      .map((u) => ({value: u.id, display: u.displayName}));
  groups.push({id, displayName: `Team ${g}`, members, meta: {created, lastModified: created}});
}

SCIMMY.Config.set({
  filter: {supported: true, maxResults: MAX_RESULTS},
  patch: false,
  sort: false,
  bulk: false,
  changePassword: false,
  etag: false,
});
SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .egress((resource) => {
    if (resource.id) {
      const user = users.find((u) => u.id === resource.id);
      if (!user) throw new SCIMMY.Types.Error(404, null, `User ${resource.id} not found`);
      return user;
    }
    return resource.filter ? resource.filter.match(users) : users;
  })
  .ingress(() => { throw new SCIMMY.Types.Error(501, null, "read-only"); })
  .degress(() => { throw new SCIMMY.Types.Error(501, null, "read-only"); });
SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  .egress((resource) => {
    if (resource.id) {
      const group = groups.find((g) => g.id === resource.id);
      if (!group) throw new SCIMMY.Types.Error(404, null, `Group ${resource.id} not found`);
      return group;
    }
    return resource.filter ? resource.filter.match(groups) : groups;
  })
  .ingress(() => { throw new SCIMMY.Types.Error(501, null, "read-only"); })
  .degress(() => { throw new SCIMMY.Types.Error(501, null, "read-only"); });

let served = 0;
let fault = null;
const app = express();
app.get("/_admin/truth", (req, res) => res.json({users, groups}));
app.get("/_admin/requests", (req, res) => res.json({served}));
app.post("/_admin/clear", (req, res) => { fault = null; res.json({}); });
let createdUsers = 0;
app.post("/_admin/users/create", (req, res) => {
  const at = users.findIndex((u) => u.id === req.query.after);
  if (at < 0) return res.status(404).json({});
  const id = `${req.query.after}n${++createdUsers}`;
  users.splice(at + 1, 0, {
    id,
    userName: `new.${id}`,
    displayName: `New ${id}`,
    name: {givenName: "New", familyName: id, formatted: `New ${id}`},
    emails: [{value: `${id}@example.test`, type: "work", primary: true}],
    active: true,
    title: "Analyst",
    meta: {created, lastModified: created},
  });
  res.json({id});
});
app.post("/_admin/users/delete", (req, res) => {
  const at = users.findIndex((u) => u.id === req.query.id);
  if (at < 0) return res.status(404).json({});
  users.splice(at, 1);
  for (const g of groups) g.members = g.members.filter((m) => m.value !== req.query.id);
  res.json({});
});
app.post("/_admin/groups/member", (req, res) => {
  const group = groups.find((g) => g.id === req.query.group);
  const user = users.find((u) => u.id === req.query.user);
  if (!group || !user) return res.status(404).json({});
  group.members = group.members.filter((m) => m.value !== user.id);
  if (req.query.member === "1") group.members.push({value: user.id, display: user.displayName});
  res.json({});
});
app.post("/_admin/fault", (req, res) => {
  fault = {
    kind: req.query.kind ?? "status",
    status: Number(req.query.status ?? 503),
    skip: Number(req.query.skip ?? 0),
    path: req.query.path ?? "/",
  };
  res.json(fault);
});
app.use("/scim/v2", (req, res, next) => {
  served++;
  if (fault && req.path.startsWith(fault.path)) {
    if (fault.skip > 0) {
      fault.skip--;
    } else {
      const f = fault;
      fault = null;
      if (f.kind === "reset") return req.socket.destroy();
      if (f.kind === "truncate") {
        res.writeHead(200, {"Content-Type": "application/scim+json", "Content-Length": "100000"});
        res.write('{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":');
        return setImmediate(() => req.socket.destroy());
      }
      const headers = f.status === 429 ? {"Retry-After": "1"} : {};
      return res.status(f.status).set(headers).json({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
        status: String(f.status), detail: "injected fault"});
    }
  }
  next();
});
app.use("/scim/v2", new SCIMMYRouters({
  type: "bearer",
  docUri: "https://example.test/help",
  handler: (request) => {
    if (request.header("Authorization") !== `Bearer ${TOKEN}`) {
      throw new Error("Authorization not detected!");
    }
    return users[0].id;
  },
  context: () => ({}),
}));
const server = app.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
