# Sourced (not a test: not *.sh) by tests/cli/sync*.sh after common.sh: writes a scenario like the built-in one (Fabrikam and
# Northwind consented to Defender XDR, Tailspin not, plus Contoso that a test removes from the emulator) with
# quotas raised so repeated syncs are never throttled unless a test injects it, and starts the emulator on it.
# write_sync_scenario FABRIKAM_INCIDENTS
write_sync_scenario() {
  export XDR_TEST_APP_SECRET="sync-test-secret~$RANDOM$RANDOM"
  CONTOSO_ID=5e1d2c3b-4a59-4687-b6c5-d4e3f2a1b0c9
  local roles='"roles": ["Incident.Read.All", "AdvancedHunting.Read.All"]'
  cat >"$TEST_DIR/scenario.json" <<JSON
{"seed": 11,
 "quotas": {"incidents_per_minute": 100000, "incidents_per_hour": 1000000},
 "apps": [{"client_id": "$APP_ID", "display_name": "Contoso MSSP", "secrets": [{"value_env": "XDR_TEST_APP_SECRET"}],
           "redirect_uris": ["https://portal.azure.com"]}],
 "tenants": [
  {"tenant_id": "$FABRIKAM_ID", "domain": "fabrikam.onmicrosoft.com", "display_name": "Fabrikam",
   "data": {"incidents": $1},
   "consents": [{"client_id": "$APP_ID", "resource": "xdr", $roles}]},
  {"tenant_id": "$NORTHWIND_ID", "domain": "northwind.onmicrosoft.com", "display_name": "Northwind Traders",
   "consents": [{"client_id": "$APP_ID", "resource": "xdr", $roles}]},
  {"tenant_id": "$TAILSPIN_ID", "domain": "tailspin.onmicrosoft.com", "display_name": "Tailspin Toys"},
  {"tenant_id": "$CONTOSO_ID", "domain": "contoso.onmicrosoft.com", "display_name": "Contoso",
   "consents": [{"client_id": "$APP_ID", "resource": "xdr", $roles}]}]}
JSON
  start_emulator --config "$TEST_DIR/scenario.json"
  export AZURE_CLIENT_SECRET="$XDR_TEST_APP_SECRET"
}

STORE_PY="$(dirname "${BASH_SOURCE[0]}")/sync_store.py"
store_py() { /usr/bin/python3 "$STORE_PY" "$@"; }

# dump_equal DB_A DB_B WHAT: the two stores hold the same rows and watermarks.
dump_equal() {
  store_py dump "$1" >"$TEST_DIR/dump-a.txt"
  store_py dump "$2" >"$TEST_DIR/dump-b.txt"
  [[ -s "$TEST_DIR/dump-a.txt" ]] || fail "$3: the reference store is empty"
  cmp -s "$TEST_DIR/dump-a.txt" "$TEST_DIR/dump-b.txt" ||
    { diff "$TEST_DIR/dump-a.txt" "$TEST_DIR/dump-b.txt" | head -5 >&2; fail "$3: the stores differ"; }
}
