#!/usr/bin/env bash
# The persistent token cache: a second process reuses the first one's token (one token request in
# the emulator's log), the file is 0600 and holds no secret; --no-cache-file bypasses it.
source "$(dirname "$0")/common.sh"
start_emulator
export AZURE_CLIENT_SECRET
AZURE_CLIENT_SECRET=$(cat "$SECRET_FILE")

run_cli 0 token get --tenant fabrikam.onmicrosoft.com
expect_contains "$OUT" "from cache:     no"
CACHE="$XDG_CACHE_HOME/xdrpartner/tokens.json"
[[ -f "$CACHE" ]] || fail "no cache file at $CACHE"
[[ "$(stat -c %a "$CACHE")" == 600 ]] || fail "cache file mode is $(stat -c %a "$CACHE")"
[[ "$(stat -c %a "$(dirname "$CACHE")")" == 700 ]] || fail "cache directory is not 0700"

run_cli 0 token get --tenant fabrikam.onmicrosoft.com
expect_contains "$OUT" "from cache:     yes"
[[ "$(token_requests)" == 1 ]] || fail "expected one token request, the emulator logged $(token_requests)"
expect_not_contains "$(cat "$CACHE")" "$AZURE_CLIENT_SECRET" "the secret in the cache file"

# The raw token from the cache is the same token.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --raw
first=$OUT
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --raw
[[ "$first" == "$OUT" ]] || fail "the cached token changed"
[[ "$(token_requests)" == 1 ]] || fail "the cache was not used"

# --no-cache-file and --force-refresh ask Entra ID again; an explicit file works too.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --no-cache-file
expect_contains "$OUT" "from cache:     no"
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --force-refresh
[[ "$(token_requests)" == 3 ]] || fail "expected 3 token requests, got $(token_requests)"
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --token-cache-file "$TEST_DIR/other.json"
expect_contains "$OUT" "from cache:     no"

# An unsafe cache file is refused.
chmod 0644 "$CACHE"
run_cli 2 token get --tenant fabrikam.onmicrosoft.com
expect_contains "$ERR" "$CACHE"
echo "ok"
