# Sourced by every tests/cli/*.sh: a temporary directory per test, the emulator started on port 0
# and stopped on exit, and small assertion helpers. Needs XDRPARTNER and XDR_EMULATOR (set by ctest).
# A test that cannot run here calls `skip`, which exits 125 (ctest SKIP_RETURN_CODE).

set -Eeuo pipefail

skip() { echo "SKIP: $*"; exit 125; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -x "${XDRPARTNER:-}" ]] || skip "XDRPARTNER is not set to the xdrpartner binary"
[[ -x "${XDR_EMULATOR:-}" ]] || skip "XDR_EMULATOR is not set to the xdr-emulator binary"
command -v curl >/dev/null || skip "curl is needed to read the emulator's request log"

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xdr-cli-test.XXXXXX")
EMU_PID=""
trap 'echo "FAILED: ${BASH_SOURCE[0]}:${LINENO}: ${BASH_COMMAND}" >&2' ERR
cleanup() {
  if [[ -n "$EMU_PID" ]]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
  rm -rf "$TEST_DIR"
}
trap cleanup EXIT

# Nothing from the caller's environment may change what the CLI does.
unset AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH \
  AZURE_CLIENT_CERTIFICATE_PASSWORD AZURE_AUTHORITY_HOST SSL_CERT_FILE XDRPARTNER_CONFIG \
  AZURE_CLIENT_SEND_CERTIFICATE_CHAIN https_proxy HTTPS_PROXY http_proxy ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost
export HOME="$TEST_DIR/home" XDG_CACHE_HOME="$TEST_DIR/cache"
mkdir -p "$HOME"

APP_ID=6a3c9f2e-4b1d-4e8a-9c7b-2d5e8f1a3b6c
FABRIKAM_ID=3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e
NORTHWIND_ID=7c4e1a9b-2d3f-4a5b-9c6d-8e7f0a1b2c3d
TAILSPIN_ID=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d

# start_emulator [emulator args...]: starts it, waits for the ready file (10 s), exports
# EMU_URL, EMU_CA, AZURE_AUTHORITY_HOST, SSL_CERT_FILE, AZURE_CLIENT_ID, and sets SECRET_FILE.
start_emulator() {
  local dir="$TEST_DIR/emulator"
  mkdir -p "$dir"
  "$XDR_EMULATOR" --listen 127.0.0.1:0 --state-dir "$dir" --ready-file "$dir/ready.json" "$@" \
    >"$dir/stdout.log" 2>"$dir/stderr.log" &
  EMU_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s "$dir/ready.json" ]] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$dir/stderr.log" >&2; fail "the emulator exited before it was ready"; }
    sleep 0.05
  done
  [[ -s "$dir/ready.json" ]] || fail "the emulator was not ready within 10 s"
  EMU_URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$dir/ready.json")
  EMU_CA=$(sed -n 's/.*"ca_file":"\([^"]*\)".*/\1/p' "$dir/ready.json")
  export EMU_URL EMU_CA AZURE_AUTHORITY_HOST="$EMU_URL" SSL_CERT_FILE="$EMU_CA" AZURE_CLIENT_ID="$APP_ID" XDR_API_BASE="$EMU_URL"
  SECRET_FILE="$dir/secret-$APP_ID.txt"
}

# emu_get PATH / emu_post PATH JSON / emu_delete PATH: the emulator's control API.
emu_get() { curl -sS --fail --cacert "$EMU_CA" "$EMU_URL$1"; }
emu_post() { curl -sS --fail --cacert "$EMU_CA" -H 'content-type: application/json' -d "$2" "$EMU_URL$1"; }
emu_delete() { curl -sS --fail --cacert "$EMU_CA" -X DELETE "$EMU_URL$1"; }

# token_requests: how many token-endpoint requests the emulator has logged.
token_requests() { emu_get /_emulator/requests | { grep -o '"route":"token_v[12]"' || true; } | wc -l | tr -d ' '; }

# run_cli EXPECTED_CODE ARGS...: runs xdrpartner; stdout in $OUT, stderr in $ERR; fails on another code.
run_cli() {
  local expected=$1
  shift
  local code=0
  "$XDRPARTNER" "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || code=$?
  OUT=$(cat "$TEST_DIR/out")
  ERR=$(cat "$TEST_DIR/err")
  if [[ "$code" != "$expected" ]]; then
    echo "stdout: $OUT" >&2
    echo "stderr: $ERR" >&2
    fail "xdrpartner $* exited $code, expected $expected"
  fi
}

# expect_contains TEXT NEEDLE / expect_not_contains TEXT NEEDLE
expect_contains() {
  [[ "$1" == *"$2"* ]] || { echo "--- text:" >&2; echo "$1" >&2; fail "expected to find: $2"; }
}
expect_not_contains() {
  [[ "$1" != *"$2"* ]] || fail "found what must not appear (${3:-a forbidden value})"
}
