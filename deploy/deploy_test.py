"""Checks deploy/ against the binary and this machine's packages.

No container runtime runs here, so:
- the Deployment's container arguments and environment are given to the
  real server with --check_config, with the files they name made in a
  temporary directory (as Kubernetes mounts Secret volumes for the pod's
  fsGroup: 0440, the process's own group), and must be accepted; the same
  arguments with one removed must be refused;
- the probes must name the gRPC port and the health service names the
  server registers;
- every key file the arguments name must be a key of a Secret mounted
  there (mounted directly, so that reloads see changes);
- the pod is spread over nodes and zones, runs under the runtime's
  seccomp profile, has a disruption budget, drains before it is killed;
  the Ingress publishes only the hook and OAuth paths, on the host the
  arguments name;
- .dockerignore keeps local state out of the image's build context;
- the Dockerfile's runtime packages must provide every shared library the
  server links (the packages owning them, found by ldd and dpkg, within
  the dependency closure of the listed ones and the base image's required
  packages), and its build stage must run tools/build, as CI does.

    deploy_test.py SERVER DEPLOY_DIR
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

SERVER = None
DEPLOY = None


def load(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def deployment():
    (doc,) = load("kubernetes/deployment.yaml")
    return doc


def container(doc, name="unified-directory"):
    return next(c for c in doc["spec"]["template"]["spec"]["containers"]
                if c["name"] == name)


def secrets():
    return {doc["metadata"]["name"]: doc["stringData"]
            for doc in load("kubernetes/secrets.example.yaml")}


class DeploymentTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.doc = deployment()
        self.main = container(self.doc)

    def check_config(self, args):
        """Runs the server's --check_config on the manifest's arguments,
        the pod's paths moved under a temporary directory."""
        env = {"PATH": "/usr/bin:/bin"}
        values = {}
        for var in self.main["env"]:
            ref = var["valueFrom"]["secretKeyRef"]
            values[var["name"]] = secrets()[ref["name"]][ref["key"]]
        env["UNIFIED_STORE"] = values["UNIFIED_STORE"]
        moved = []
        for arg in args:
            arg = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], arg)
            arg = arg.replace("=/secrets/", "=%s/secrets/" % self.dir)
            arg = arg.replace("=/var/lib/", "=%s/var/lib/" % self.dir)
            moved.append(arg)
        return subprocess.run([SERVER, "--check_config"] + moved, env=env,
                              capture_output=True, text=True, timeout=60)

    def make_key_files(self):
        """The Secret volumes' files as Kubernetes mounts them for the
        pod's fsGroup: readable by the owner and the group (here this
        process's own), no one else."""
        os.makedirs(os.path.join(self.dir, "var/lib/unified-directory"))
        api_key = "uk_" + os.urandom(20).hex()
        contents = {
            "keys/encryption_keys": "k1:%s\n" % base64.b64encode(
                os.urandom(32)).decode(),
            "keys/cursor_key": base64.b64encode(os.urandom(48)).decode(),
            "api-keys/api_keys": "tenant-a sha256:%s\n" % hashlib.sha256(
                api_key.encode()).hexdigest(),
            "podio/client_secret": "secret\n",
        }
        for name, text in contents.items():
            path = os.path.join(self.dir, "secrets", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o440)

    def test_the_server_accepts_the_container_arguments(self):
        self.make_key_files()
        run = self.check_config(self.main["args"])
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.strip(), "configuration ok")
        # The manifests set no flag that weakens the service.
        self.assertNotIn('"unsafe flag"', run.stderr)

    def test_a_missing_argument_is_refused(self):
        self.make_key_files()
        for dropped in ("--allow_insecure_listen",
                        "--encryption_keys_file=/secrets/keys/encryption_keys",
                        "--api_keys_file=/secrets/api-keys/api_keys",
                        "--secret_files_group_readable"):
            args = [a for a in self.main["args"] if a != dropped]
            self.assertNotEqual(len(args), len(self.main["args"]), dropped)
            run = self.check_config(args)
            self.assertEqual(run.returncode, 1, dropped)
            # One JSON log line saying why.
            line = json.loads(run.stderr.strip().splitlines()[-1])
            self.assertEqual((line["level"], line["msg"]), ("error", "server"))
            self.assertTrue(line["error"], run.stderr)

    def test_every_key_file_is_a_key_of_a_mounted_secret(self):
        pod = self.doc["spec"]["template"]["spec"]
        self.assertNotIn("initContainers", pod)  # Nothing copies them.
        mounts = {m["mountPath"]: m for m in self.main["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        named = [a.split("=", 1)[1] for a in self.main["args"]
                 if "=/secrets/" in a]
        self.assertEqual(len(named), 4)
        for path in named:
            directory, key = path.rsplit("/", 1)
            mount = mounts[directory]
            self.assertTrue(mount["readOnly"], path)
            secret = volumes[mount["name"]]["secret"]
            self.assertEqual(secret["defaultMode"], 0o440, path)
            self.assertIn(key, secrets()[secret["secretName"]], path)
        self.assertIn("--secret_files_group_readable", self.main["args"])
        self.assertEqual(pod["securityContext"]["fsGroup"],
                         pod["securityContext"]["runAsGroup"])

    def test_spread_confined_and_budgeted(self):
        pod = self.doc["spec"]["template"]["spec"]
        self.assertEqual(pod["securityContext"]["seccompProfile"],
                         {"type": "RuntimeDefault"})
        keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        self.assertEqual(keys, {"kubernetes.io/hostname",
                                "topology.kubernetes.io/zone"})
        labels = self.doc["spec"]["template"]["metadata"]["labels"]
        for c in pod["topologySpreadConstraints"]:
            self.assertEqual(c["labelSelector"]["matchLabels"], labels)
        (pdb,) = load("kubernetes/pdb.yaml")
        self.assertEqual(pdb["kind"], "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"], labels)
        # Fewer may be out at once than keep serving.
        self.assertLess(pdb["spec"]["maxUnavailable"],
                        self.doc["spec"]["replicas"] / 2)

    def test_the_ingress_publishes_hooks_and_the_callback_only(self):
        (ingress,) = load("kubernetes/ingress.yaml")
        (rule,) = ingress["spec"]["rules"]
        paths = {(p["path"], p["pathType"]): p["backend"]["service"]
                 for p in rule["http"]["paths"]}
        self.assertEqual(set(paths), {("/hooks/", "Prefix"),
                                      ("/oauth/callback", "Exact")})
        services = {d["metadata"]["name"]: d
                    for d in load("kubernetes/service.yaml")}
        for backend in paths.values():
            ports = {p["name"] for p in
                     services[backend["name"]]["spec"]["ports"]}
            self.assertEqual(backend["port"]["name"], "http")
            self.assertIn("http", ports)
        host = rule["host"]
        self.assertIn(host, ingress["spec"]["tls"][0]["hosts"])
        # The per-client cap moves to the ingress, the side listener's
        # only peer.
        self.assertIn("--http_max_connections_per_peer=0", self.main["args"])
        self.assertEqual(ingress["metadata"]["annotations"][
            "nginx.ingress.kubernetes.io/limit-connections"], "64")
        args = dict(a.split("=", 1) for a in self.main["args"] if "=" in a)
        self.assertEqual(args["--hook_base_url"], "https://%s" % host)
        self.assertEqual(args["--oauth_redirect_uri"],
                         "https://%s/oauth/callback" % host)

    def test_the_build_context_leaves_local_state_out(self):
        with open(os.path.join(DEPLOY, "..", ".dockerignore")) as f:
            ignored = {line.strip() for line in f
                       if line.strip() and not line.startswith("#")}
        for state in (".git", ".demo", ".bench", "bazel-*",
                      "**/node_modules"):
            self.assertIn(state, ignored)

    def test_probes_use_the_grpc_port_and_the_health_names(self):
        listen = next(a for a in self.main["args"]
                      if a.startswith("--listen="))
        port = int(listen.rsplit(":", 1)[1])
        ready = self.main["readinessProbe"]["grpc"]
        live = self.main["livenessProbe"]["grpc"]
        self.assertEqual(ready["port"], port)
        self.assertEqual(ready["service"], "readiness")
        self.assertEqual(live["port"], port)
        self.assertEqual(live["service"], "liveness")
        self.assertEqual(self.doc["spec"]["replicas"], 3)

    def test_a_pod_drains_before_it_is_killed(self):
        """The drain (readiness off, still serving) outlasts the readiness
        probe's detection, and drain plus grace fit in the pod's
        termination grace period, so Kubernetes never kills a pod that
        still has calls to finish."""
        def seconds(flag, default):
            for a in self.main["args"]:
                if a.startswith(flag + "="):
                    value = a.split("=", 1)[1]
                    self.assertTrue(value.endswith("s"), a)
                    return float(value[:-1])
            return default
        drain = seconds("--shutdown_drain", 5)
        grace = seconds("--shutdown_grace", 10)
        probe = self.main["readinessProbe"]
        detect = probe.get("periodSeconds", 10) * probe.get(
            "failureThreshold", 3)
        self.assertGreaterEqual(drain, detect)
        self.assertLess(
            drain + grace,
            self.doc["spec"]["template"]["spec"][
                "terminationGracePeriodSeconds"])

    def test_the_root_filesystem_stays_read_only(self):
        pod = self.doc["spec"]["template"]["spec"]
        for c in pod["containers"] + pod.get("initContainers", []):
            self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        writable = {m["mountPath"] for m in self.main["volumeMounts"]
                    if not m.get("readOnly")}
        self.assertEqual(writable, {"/var/lib/unified-directory"})


def dpkg(*args):
    return subprocess.run(["dpkg-query"] + list(args), capture_output=True,
                          text=True).stdout


class DockerfileTest(unittest.TestCase):

    def setUp(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            self.text = f.read()
        runtime = self.text.split("FROM debian:12-slim", 1)[1]
        install = runtime.split("apt-get install", 1)[1].split("&&", 1)[0]
        self.packages = set(re.findall(r"\b(lib[\w.+-]+|ca-certificates)\b",
                                       install))

    def closure(self, packages):
        seen, todo = set(), list(packages)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            depends = dpkg("-W", "-f=${Depends}, ${Pre-Depends}", name)
            for alternative in depends.split(","):
                first = alternative.split("|")[0].strip()
                if first:
                    todo.append(first.split()[0].split(":")[0])
        return seen

    def test_the_runtime_packages_hold_every_linked_library(self):
        ldd = subprocess.run(["ldd", SERVER], capture_output=True,
                             text=True, check=True).stdout
        libraries = [os.path.realpath(path) for path in
                     re.findall(r"=> (/\S+)", ldd)]
        owners = set()
        for library in libraries:
            found = subprocess.run(["dpkg", "-S", library],
                                   capture_output=True, text=True).stdout
            if not found:  # Debian 12's merged /usr: look under /usr too.
                found = subprocess.run(
                    ["dpkg", "-S", library.replace("/usr/lib/", "/lib/")],
                    capture_output=True, text=True).stdout
            self.assertTrue(found, library)
            owners.add(found.split(":")[0])
        # The sanitizers' runtimes when the tests run under --config=asan:
        # the image is built by tools/build, which never links them.
        owners -= SANITIZER_RUNTIMES
        base = {line.split()[0] for line in dpkg(
            "-W", "-f=${Package} ${Priority}\n").splitlines()
            if line.split()[-1] == "required"}
        provided = self.closure(self.packages | base)
        self.assertEqual(sorted(owners - provided), [])
        # And nothing listed that the binary does not need.
        for package in self.packages - {"ca-certificates"}:
            self.assertIn(package, owners | self.closure(owners), package)

    def test_built_by_the_command_ci_runs_as_a_non_root_user(self):
        self.assertIn("RUN tools/setup && tools/build", self.text)
        with open(os.path.join(DEPLOY, "..", "tools", "test")) as f:
            self.assertIn("tools/build", f.read())
        user = re.findall(r"^USER (\S+)", self.text, re.M)
        self.assertEqual(user, ["10001:10001"])
        self.assertIn('ENTRYPOINT ["/usr/local/bin/unified-directory"]',
                      self.text)


SANITIZER_RUNTIMES = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}


if __name__ == "__main__":
    SERVER, DEPLOY = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    unittest.main()
