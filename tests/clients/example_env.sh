#!/usr/bin/env bash
# Starts the Podio simulator and the real server for a client example test
# (loopback, free ports, a fresh data directory, generated keys), exports
# ADDRESS and API_KEY, and stops both on exit. Source it from a test.
set -euo pipefail

RUNFILES="${TEST_SRCDIR}/${TEST_WORKSPACE}"
ENV_DIR="$(mktemp -d "${TEST_TMPDIR:-/tmp}/clients.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Reads lines from fifo $1 (fd $2) until one starts with $3; prints the rest.
wait_for_line() {
  local fd="$2" prefix="$3" line
  while IFS= read -r -t 60 -u "$fd" line; do
    if [[ "$line" == "$prefix"* ]]; then
      printf '%s\n' "${line#"$prefix"}"
      return 0
    fi
  done
  echo "no line starting with '$prefix'" >&2
  return 1
}

mkfifo "$ENV_DIR/sim.out" "$ENV_DIR/server.out"
"$RUNFILES/tools/podio_sim/podio_sim" --admin --users=300 --orgs=1 \
  --spaces_per_org=3 ${SIM_FLAGS:-} >"$ENV_DIR/sim.out" &
PIDS+=($!)
exec 3<"$ENV_DIR/sim.out"
SIM_URL="$(wait_for_line "$ENV_DIR/sim.out" 3 "listening on ")"

umask 077
echo "k1:$(openssl rand -base64 32)" >"$ENV_DIR/keys"
API_KEY="uk_$(openssl rand -hex 20)"
echo "tenant-a sha256:$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)" \
  >"$ENV_DIR/api_keys"
echo "demo-secret" >"$ENV_DIR/client_secret"
# EXAMPLE_TLS=1: the server requires mutual TLS with the build's test CA;
# TLS_ARGS then holds the client flags (python and node spell them alike).
SERVER_TLS=()
TLS_ARGS=()
if [ "${EXAMPLE_TLS:-}" = 1 ]; then
  for f in ca.pem server.pem server.key client.pem client.key; do
    install -m 600 "$RUNFILES/tests/testing/tls/$f" "$ENV_DIR/$f"
  done
  SERVER_TLS=(--tls_cert_file="$ENV_DIR/server.pem"
              --tls_key_file="$ENV_DIR/server.key"
              --tls_client_ca_file="$ENV_DIR/ca.pem")
  TLS_ARGS=(--ca_file="$ENV_DIR/ca.pem" --cert_file="$ENV_DIR/client.pem"
            --key_file="$ENV_DIR/client.key" --server_name=localhost)
fi
"$RUNFILES/service/server" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  ${SERVER_TLS[@]+"${SERVER_TLS[@]}"} \
  --data_dir="$ENV_DIR" --encryption_keys_file="$ENV_DIR/keys" \
  --api_keys_file="$ENV_DIR/api_keys" --podio_api_base="$SIM_URL" \
  --podio_web_base="$SIM_URL" --podio_client_id=demo-client \
  --podio_client_secret_file="$ENV_DIR/client_secret" \
  >"$ENV_DIR/server.out" 2>"$ENV_DIR/server.log" &
PIDS+=($!)
exec 4<"$ENV_DIR/server.out"
ADDRESS="$(wait_for_line "$ENV_DIR/server.out" 4 "listening on ")"
export ADDRESS API_KEY SIM_URL

# What both client examples must print (their output in file $1).
check_example_output() {
  local out="$1" pattern
  for pattern in \
      '^linked account ia_[0-9a-f]{24} as user 5000000000 \(ACTIVE\)$' \
      '^GetMe retry: RESOURCE_EXHAUSTED reason=UPSTREAM_RATE_LIMITED retry_delay=2s$' \
      '^me: .+ \(5000000000\)$' \
      '^workspaces: 3 of 3$' \
      '^streamed users: 300$' \
      '^search "Brown": [1-9][0-9]* users, each matching$' \
      '^batch get: [1-3] users, not found: 5999999999$' \
      '^watch snapshot: 3 workspaces, [1-9][0-9]* members, [1-9][0-9]* organization members, resume token [A-Za-z0-9_-]{8}\.\.\.$' \
      '^ListUsers error: INVALID_ARGUMENT reason=INVALID_CURSOR retry_delay=none$'; do
    if ! grep -Eq "$pattern" "$out"; then
      echo "FAIL: no line matching: $pattern" >&2
      return 1
    fi
  done
}
