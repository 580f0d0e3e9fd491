#!/usr/bin/env bash
# hunt and incidents list across registry tenants (--all-tenants, --tenants-label) against the emulator, with
# faults injected for some tenants: a 429 with Retry-After (retried, then ok), a persistent 503 (that
# tenant's envelope says so, the others complete), a dropped connection (retried), a slow response, and a
# tenant whose token endpoint keeps failing. Every other tenant's rows must equal its single-tenant run.
source "$(dirname "$0")/common.sh"
start_emulator
export AZURE_CLIENT_SECRET XDR_DB="$TEST_DIR/partner.db"
AZURE_CLIENT_SECRET=$(cat "$SECRET_FILE")

# Three more consented tenants (small data), named so the registry lists them Alpha, Bravo, Charlie, Fabrikam.
ALPHA=11111111-0000-4000-8000-00000000000a
BRAVO=11111111-0000-4000-8000-00000000000b
CHARLIE=11111111-0000-4000-8000-00000000000c
tenant_spec() {
  printf '{"tenant_id":"%s","domain":"%s.onmicrosoft.com","display_name":"%s","data":{"incidents":%s},"consents":[{"client_id":"%s","resource":"xdr","roles":["Incident.Read.All","AdvancedHunting.Read.All"]}]}' \
    "$1" "$2" "$2" "$3" "$APP_ID"
}
emu_post /_emulator/tenants "{\"tenants\":[$(tenant_spec $ALPHA alpha 7),$(tenant_spec $BRAVO bravo 4),$(tenant_spec $CHARLIE charlie 9)]}" >/dev/null
printf 'tenant,name,labels\n%s,Alpha,env=fleet\n%s,Bravo,env=fleet\n%s,Charlie,env=fleet\n%s,Fabrikam,env=fleet\n%s,Northwind,env=other\n%s,Tailspin,env=other\n' \
  "$ALPHA" "$BRAVO" "$CHARLIE" "$FABRIKAM_ID" "$NORTHWIND_ID" "$TAILSPIN_ID" >"$TEST_DIR/tenants.csv"
run_cli 0 tenants import "$TEST_DIR/tenants.csv"

FLEET=("$ALPHA" "$BRAVO" "$CHARLIE" "$FABRIKAM_ID")
QUERY='AlertInfo | project AlertId, Title, Severity'
X=(--no-cache-file)

# The reference: each tenant on its own.
declare -A HUNT_ROWS INCIDENTS
for t in "${FLEET[@]}"; do
  run_cli 0 "${X[@]}" --output ndjson hunt --tenant "$t" "$QUERY"
  HUNT_ROWS[$t]=$(grep -c . <<<"$OUT" || true)
  (( HUNT_ROWS[$t] > 0 )) || fail "tenant $t has no alerts to hunt"
  run_cli 0 "${X[@]}" --output ndjson incidents list --tenant "$t"
  INCIDENTS[$t]=$(grep -c . <<<"$OUT" || true)
done
[[ ${INCIDENTS[$ALPHA]} == 7 && ${INCIDENTS[$CHARLIE]} == 9 ]] || fail "the scenario's incident counts are not served"

# rows_of TENANT [KEY]: how many ndjson lines of $OUT belong to TENANT.
rows_of() { { grep -F "\"${2:-TenantId}\":\"$1\"" <<<"$OUT" || true; } | wc -l | tr -d ' '; }
# expect_complete [TENANT...]: those tenants' rows equal their single-tenant runs.
expect_complete() {
  local t
  for t in "$@"; do
    [[ $(rows_of "$t") == "${HUNT_ROWS[$t]}" ]] || fail "tenant $t: $(rows_of "$t") rows across tenants, ${HUNT_ROWS[$t]} alone"
  done
}
# summary_line NAME: the per-tenant summary line of NAME on stderr.
summary_line() { grep -E "^[a-z_]+ +$1 \(" <<<"$ERR" || fail "no summary line for $1 in: $ERR"; }

# No faults: every tenant complete, exit 0, the summary on stderr only, the csv header once.
run_cli 0 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "${FLEET[@]}"
[[ $(grep -c . <<<"$OUT") == $(( HUNT_ROWS[$ALPHA] + HUNT_ROWS[$BRAVO] + HUNT_ROWS[$CHARLIE] + HUNT_ROWS[$FABRIKAM_ID] )) ]] ||
  fail "rows other than the tenants' on stdout"
[[ "$(head -c 12 <<<"$OUT")" == '{"TenantId":' ]] || fail "TenantId is not the first column"
expect_contains "$ERR" "4 tenant(s) in"
run_cli 0 "${X[@]}" --output csv hunt --tenants-label env=fleet "$QUERY"
[[ $(grep -c '^TenantId,TenantName,AlertId,Title,Severity' <<<"$OUT") == 1 ]] || fail "not exactly one csv header"
[[ $(grep -c "^$CHARLIE,Charlie," <<<"$OUT") == "${HUNT_ROWS[$CHARLIE]}" ]] || fail "csv rows of Charlie"

# A 429 with Retry-After on Charlie's first API call (the rule matches the bearer token's tenant), four
# tenants at once: Charlie's call is retried, then ok; nobody else retries.
emu_post /_emulator/faults "{\"route\":\"api\",\"tenant\":\"$CHARLIE\",\"count\":1,\"status\":429,\"retry_after\":1}" >/dev/null
run_cli 0 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "${FLEET[@]}"
expect_contains "$(summary_line Charlie)" "ok               Charlie ($CHARLIE)  ${HUNT_ROWS[$CHARLIE]} rows, "
expect_contains "$(summary_line Charlie)" " ms, 1 retry"
[[ $(grep -c " 0 retries" <<<"$ERR") == 3 ]] || fail "a tenant other than Charlie retried: $ERR"

# A persistent 503 for Alpha (its three attempts): its envelope says unreachable with the status; the others complete.
emu_post /_emulator/faults "{\"route\":\"api\",\"tenant\":\"$ALPHA\",\"count\":-1,\"status\":503,\"retry_after\":0}" >/dev/null
run_cli 3 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "$BRAVO" "$CHARLIE" "$FABRIKAM_ID"
[[ $(rows_of "$ALPHA") == 0 ]] || fail "rows of the failed tenant"
expect_contains "$(summary_line Alpha)" "unreachable      Alpha ($ALPHA)  0 rows, "
expect_contains "$(summary_line Alpha)" "2 retries, HTTP 503"
expect_contains "$ERR" "Some tenants failed (exit code 3)"

emu_delete /_emulator/faults >/dev/null

# A dropped connection for Bravo (the headers promise a body that never comes): retried, then ok.
emu_post /_emulator/faults "{\"route\":\"api\",\"tenant\":\"$BRAVO\",\"count\":1,\"drop\":true}" >/dev/null
run_cli 0 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "${FLEET[@]}"
expect_contains "$(summary_line Bravo)" " ms, 1 retry"

# A slow answer (1.5 s) for one call, four tenants at once: it only makes that tenant slower.
emu_post /_emulator/faults '{"route":"api","count":1,"delay_ms":1500}' >/dev/null
run_cli 0 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "${FLEET[@]}"
grep -qE "rows, (1[5-9][0-9]{2}|[2-9][0-9]{3}) ms" <<<"$ERR" || fail "no tenant took the injected 1.5 s: $ERR"

# Bravo's token endpoint keeps answering 503 (a fault aimed at one tenant), four at once: Bravo's envelope
# says why, the others complete, incidents included.
emu_post /_emulator/faults "{\"route\":\"token\",\"tenant\":\"$BRAVO\",\"count\":-1,\"status\":503,\"retry_after\":0}" >/dev/null
run_cli 3 "${X[@]}" --output ndjson hunt --tenants-label env=fleet --concurrency 4 "$QUERY"
expect_complete "$ALPHA" "$CHARLIE" "$FABRIKAM_ID"
[[ $(rows_of "$BRAVO") == 0 ]] || fail "rows of the tenant without a token"
expect_contains "$(summary_line Bravo)" "503"
grep -qE "^(unreachable|error) +Bravo" <<<"$ERR" || fail "Bravo's envelope: $(summary_line Bravo)"
run_cli 3 "${X[@]}" --output ndjson incidents list --tenants-label env=fleet
for t in "$ALPHA" "$CHARLIE" "$FABRIKAM_ID"; do
  [[ $(rows_of "$t" tenantId) == "${INCIDENTS[$t]}" ]] || fail "incidents of $t: $(rows_of "$t" tenantId), ${INCIDENTS[$t]} alone"
done
[[ $(rows_of "$BRAVO" tenantId) == 0 ]] || fail "incidents of the tenant without a token"
emu_delete /_emulator/faults >/dev/null

# Every tenant: Tailspin has not consented (its link), Northwind lacks AdvancedHunting.Read.All.
run_cli 3 "${X[@]}" hunt --all-tenants "$QUERY"
expect_contains "$OUT" "consent_missing  Tailspin ($TAILSPIN_ID)"
expect_contains "$OUT" "consent link for the customer's administrator: $EMU_URL/$TAILSPIN_ID/v2.0/adminconsent?client_id=$APP_ID"
expect_contains "$OUT" "forbidden        Northwind ($NORTHWIND_ID)"
expect_contains "$OUT" "ok               Fabrikam ($FABRIKAM_ID)  ${HUNT_ROWS[$FABRIKAM_ID]} rows"
[[ "$OUT" == TenantId* ]] || fail "the table does not come first"
run_cli 3 "${X[@]}" --output json incidents list --all-tenants
[[ $(grep -c '"status": "ok"' <<<"$OUT") == 5 ]] || fail "five tenants may list incidents (Northwind included)"
expect_contains "$OUT" '"exit_code": 3'

# A tenant registered in another cloud is not called from this (global) run: its envelope says which --cloud
# reaches it, and no token is asked for it.
DELTA=11111111-0000-4000-8000-00000000000d
emu_post /_emulator/tenants "{\"tenants\":[$(tenant_spec $DELTA delta 3)]}" >/dev/null
run_cli 0 tenants add "$DELTA" --name Agency --cloud gcc-high --label env=gov
SEQ=$(emu_get /_emulator/requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[-1]["seq"] if r else 0)')
run_cli 3 "${X[@]}" hunt --tenants-label env=gov "$QUERY"
expect_contains "$OUT" "error            Agency ($DELTA)"
expect_contains "$OUT" "registered in the gcc-high cloud, but this run talks to the global cloud; run it again with --cloud gcc-high"
emu_get "/_emulator/requests?since=$SEQ" | grep -q "$DELTA" && fail "a request went out for the other cloud's tenant"
expect_not_contains "$OUT$ERR" "$AZURE_CLIENT_SECRET" "the client secret"
echo "ok"
