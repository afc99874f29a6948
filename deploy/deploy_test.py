"""Checks deploy/ against the binary and this machine's packages.

No container runtime runs here, so:
- the Deployment's container arguments and environment are given to the
  real server with --check_config, with the files they name made in a
  temporary directory (as the init container leaves them: owner-only), and
  must be accepted; the same arguments with one removed must be refused;
- the probes must name the gRPC port and the health service names the
  server registers;
- the init container must produce every key file the arguments name, from
  the Secrets the example declares;
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
            arg = arg.replace("=/keys/", "=%s/keys/" % self.dir)
            arg = arg.replace("=/var/lib/", "=%s/var/lib/" % self.dir)
            moved.append(arg)
        return subprocess.run([SERVER, "--check_config"] + moved, env=env,
                              capture_output=True, text=True, timeout=60)

    def make_key_files(self):
        """The files the init container leaves in /keys, owner-only."""
        keys = os.path.join(self.dir, "keys")
        os.makedirs(keys)
        os.makedirs(os.path.join(self.dir, "var/lib/unified-directory"))
        api_key = "uk_" + os.urandom(20).hex()
        contents = {
            "encryption_keys": "k1:%s\n" % base64.b64encode(
                os.urandom(32)).decode(),
            "cursor_key": base64.b64encode(os.urandom(48)).decode(),
            "api_keys": "tenant-a sha256:%s\n" % hashlib.sha256(
                api_key.encode()).hexdigest(),
            "podio_client_secret": "secret\n",
        }
        for name, text in contents.items():
            path = os.path.join(keys, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o400)

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
                        "--encryption_keys_file=/keys/encryption_keys",
                        "--api_keys_file=/keys/api_keys"):
            args = [a for a in self.main["args"] if a != dropped]
            self.assertNotEqual(len(args), len(self.main["args"]), dropped)
            run = self.check_config(args)
            self.assertEqual(run.returncode, 1, dropped)
            # One JSON log line saying why.
            line = json.loads(run.stderr.strip().splitlines()[-1])
            self.assertEqual((line["level"], line["msg"]), ("error", "server"))
            self.assertTrue(line["error"], run.stderr)

    def test_the_init_container_makes_every_key_file(self):
        init = self.doc["spec"]["template"]["spec"]["initContainers"][0]
        script = " ".join(init["args"])
        made = set(re.findall(r"install -m 0400 (\S+) (/keys/\S+)", script))
        named = {a.split("=", 1)[1] for a in self.main["args"]
                 if "=/keys/" in a}
        self.assertEqual({dest for _, dest in made}, named)
        # Each source is a key of the Secret mounted there.
        mounts = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
        volumes = {v["name"]: v for v in
                   self.doc["spec"]["template"]["spec"]["volumes"]}
        for source, _ in made:
            directory, key = source.rsplit("/", 1)
            secret = volumes[mounts[directory]]["secret"]["secretName"]
            self.assertIn(key, secrets()[secret], source)

    def test_probes_use_the_grpc_port_and_the_health_names(self):
        listen = next(a for a in self.main["args"]
                      if a.startswith("--listen="))
        port = int(listen.rsplit(":", 1)[1])
        ready = self.main["readinessProbe"]["grpc"]
        live = self.main["livenessProbe"]["grpc"]
        self.assertEqual(ready["port"], port)
        self.assertEqual(ready.get("service", ""), "")
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
        for c in ([self.main] +
                  self.doc["spec"]["template"]["spec"]["initContainers"]):
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
