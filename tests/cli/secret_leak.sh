#!/usr/bin/env bash
# The client secret never appears in xdrpartner's stdout/stderr (even with -vv), in the emulator's
# request log, in the token cache file, or in /proc/<pid>/cmdline of a running xdrpartner.
source "$(dirname "$0")/common.sh"
start_emulator
SECRET=$(cat "$SECRET_FILE")
[[ ${#SECRET} -ge 16 ]] || fail "the emulator's secret is unexpectedly short"

AZURE_CLIENT_SECRET="$SECRET" run_cli 0 -vv token get --tenant fabrikam.onmicrosoft.com
expect_contains "$ERR" "HTTP POST $EMU_URL/fabrikam.onmicrosoft.com/oauth2/v2.0/token -> 200"
expect_not_contains "$OUT" "$SECRET" "the secret on stdout"
expect_not_contains "$ERR" "$SECRET" "the secret on stderr"
AZURE_CLIENT_SECRET="$SECRET" run_cli 0 -vv doctor --tenant fabrikam.onmicrosoft.com
expect_not_contains "$OUT$ERR" "$SECRET" "the secret in doctor's output"
AZURE_CLIENT_SECRET="wrong-$SECRET" run_cli 1 -vv token get --tenant fabrikam.onmicrosoft.com --force-refresh
expect_not_contains "$OUT$ERR" "$SECRET" "the wrong secret in an error"

# A running xdrpartner reading its secret from a fifo: its command line holds no secret.
mkfifo "$TEST_DIR/secret.fifo"
"$XDRPARTNER" token get --tenant northwind.onmicrosoft.com --client-secret-stdin --no-cache-file \
  <"$TEST_DIR/secret.fifo" >"$TEST_DIR/fifo.out" 2>"$TEST_DIR/fifo.err" &
cli_pid=$!
exec 3>"$TEST_DIR/secret.fifo" # opening the write end lets the CLI's open of stdin complete
for ((i = 0; i < 100; i++)); do
  [[ -r /proc/$cli_pid/cmdline ]] && grep -q "client-secret-stdin" "/proc/$cli_pid/cmdline" && break
  sleep 0.02
done
cmdline=$(tr '\0' ' ' <"/proc/$cli_pid/cmdline")
expect_contains "$cmdline" "--client-secret-stdin"
expect_not_contains "$cmdline" "$SECRET" "the secret in /proc/<pid>/cmdline"
[[ -z "$(tr '\0' '\n' <"/proc/$cli_pid/environ" | grep -F -- "$SECRET" || true)" ]] || fail "the secret in the environment"
printf '%s\n' "$SECRET" >&3
exec 3>&-
wait "$cli_pid" || fail "xdrpartner token get --client-secret-stdin failed: $(cat "$TEST_DIR/fifo.err")"
expect_contains "$(cat "$TEST_DIR/fifo.out")" "roles:          Incident.Read.All"
expect_not_contains "$(cat "$TEST_DIR/fifo.out" "$TEST_DIR/fifo.err")" "$SECRET" "the secret in the fifo run's output"

# The emulator's request log and the token cache hold no secret.
expect_not_contains "$(emu_get /_emulator/requests)" "$SECRET" "the secret in the emulator's request log"
for f in "$XDG_CACHE_HOME"/xdrpartner/*; do
  expect_not_contains "$(cat "$f")" "$SECRET" "the secret in $f"
done
echo "ok"
