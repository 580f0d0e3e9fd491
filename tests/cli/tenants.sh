#!/usr/bin/env bash
# tenants and report against the emulator (default scenario: Fabrikam and Northwind consented, Tailspin
# not; Northwind lacks AdvancedHunting.Read.All): add by GUID and by domain, import a CSV, list, disable,
# check in parallel (Tailspin -> consent_missing with its link, exit code 3), and the report.
source "$(dirname "$0")/common.sh"
start_emulator
export XDR_DB="$TEST_DIR/partner.db"

# add: a GUID as is, a domain resolved to its GUID through its OpenID configuration.
run_cli 0 tenants add "$FABRIKAM_ID" --name Fabrikam --label env=prod --region eu
expect_contains "$OUT" "added tenant $FABRIKAM_ID (Fabrikam)"
[[ "$(stat -c %a "$XDR_DB")" == 600 ]] || fail "the database file is not private"
run_cli 0 tenants add northwind.onmicrosoft.com --label env=test
expect_contains "$OUT" "added tenant $NORTHWIND_ID (northwind.onmicrosoft.com) in $XDR_DB"
run_cli 2 tenants add fabrikam.onmicrosoft.com
expect_contains "$ERR" "already registered"
run_cli 1 tenants add nowhere.onmicrosoft.com
expect_contains "$ERR" "AADSTS90002"
run_cli 2 tenants add "$TAILSPIN_ID" --label novalue

# import: a bad line is named and nothing is imported; a good file adds and updates.
printf 'tenant,name,cloud,region,labels\n%s,Tailspin,global,us,env=prod;tier=gold\nnowhere.onmicrosoft.com,Nowhere,global,,\n' \
  "$TAILSPIN_ID" >"$TEST_DIR/bad.csv"
run_cli 2 tenants import "$TEST_DIR/bad.csv"
expect_contains "$ERR" "bad.csv:3: tenant 'nowhere.onmicrosoft.com'"
expect_contains "$ERR" "nothing was imported"
printf 'tenant,name,cloud,region\n%s,Tailspin\n' "$TAILSPIN_ID" >"$TEST_DIR/short.csv"
run_cli 2 tenants import "$TEST_DIR/short.csv"
expect_contains "$ERR" "short.csv:2: expected 4 fields as in the header, found 2"
run_cli 2 tenants import "$TEST_DIR/missing.csv"
expect_contains "$ERR" "cannot read $TEST_DIR/missing.csv"
printf 'tenant,name,cloud,region,labels\n%s,Tailspin,global,us,env=prod;tier=gold\n"northwind.onmicrosoft.com","Northwind Traders",global,eu,env=test\n' \
  "$TAILSPIN_ID" >"$TEST_DIR/good.csv"
run_cli 0 tenants import "$TEST_DIR/good.csv"
expect_contains "$OUT" "imported 2 tenant(s) from $TEST_DIR/good.csv: 1 added, 1 updated"

run_cli 0 tenants list
expect_contains "$OUT" "Northwind Traders"
expect_contains "$OUT" "env=prod;tier=gold"
run_cli 0 --output json tenants list --label env=prod
expect_contains "$OUT" "\"tenant_id\": \"$FABRIKAM_ID\""
expect_contains "$OUT" "\"tenant_id\": \"$TAILSPIN_ID\""
expect_not_contains "$OUT" "$NORTHWIND_ID" "Northwind (env=test)"

# regions: only known ones (any case), changed in place by set; the emulator's base wins over any region below.
run_cli 2 tenants add "$TAILSPIN_ID" --region mars
expect_contains "$ERR" "region 'mars' is not known: use us, eu, uk, au or swa"
run_cli 0 tenants set Fabrikam --region UK
expect_contains "$OUT" "tenant $FABRIKAM_ID (Fabrikam): region uk"
run_cli 0 --output json tenants list --label env=prod
expect_contains "$OUT" '"region": "uk"'
expect_contains "$OUT" '"env": "prod"'

# check: every enabled tenant in parallel; Tailspin has not consented, Northwind lacks a role.
run_cli 3 tenants check --client-secret-file "$SECRET_FILE" --api-base "$EMU_URL"
expect_contains "$OUT" "ok               Fabrikam ($FABRIKAM_ID)"
expect_contains "$OUT" "consent_missing  Tailspin ($TAILSPIN_ID)"
expect_contains "$OUT" "consent link for the customer's administrator: $EMU_URL/$TAILSPIN_ID/v2.0/adminconsent?client_id=$APP_ID"
expect_contains "$OUT" "forbidden        Northwind Traders ($NORTHWIND_ID)"
expect_contains "$OUT" "AdvancedHunting.Read.All"
expect_contains "$OUT" "Some tenants failed (exit code 3)"
expect_not_contains "$ERR" "[" "a progress bar when stderr is not a terminal"
expect_not_contains "$(cat "$XDR_DB" "$XDR_DB-wal" 2>/dev/null | tr -d '\0')" "$(cat "$SECRET_FILE")" "the client secret in the store"

# The results were recorded; only the enabled ones are checked.
run_cli 0 tenants disable Tailspin
run_cli 0 --output json tenants check --client-secret-file "$SECRET_FILE" --api-base "$EMU_URL" --label env=prod
expect_contains "$OUT" '"exit_code": 0'
expect_not_contains "$OUT" "$TAILSPIN_ID" "the disabled tenant"

run_cli 0 report
expect_contains "$OUT" "Tenant health"
expect_contains "$OUT" "Tailspin: consent missing; send this link to its administrator: $EMU_URL/$TAILSPIN_ID/v2.0/adminconsent"
run_cli 0 --output json report --db "$XDR_DB"
expect_contains "$OUT" '"last_check_status": "ok"'
expect_contains "$OUT" '"last_check_status": "forbidden"'

run_cli 0 tenants remove northwind.onmicrosoft.com
run_cli 1 tenants remove northwind.onmicrosoft.com
expect_contains "$ERR" "no registered tenant"

# A corrupt store file is named, left alone, and nothing else is touched.
printf 'not a database at all, just text that is long enough to be read as a header......' >"$TEST_DIR/corrupt.db"
run_cli 1 --db "$TEST_DIR/corrupt.db" tenants list
expect_contains "$ERR" "$TEST_DIR/corrupt.db is not an xdrpartner database"
run_cli 1 report --db "$TEST_DIR/none.db"
expect_contains "$ERR" "there is no database file $TEST_DIR/none.db"
[[ ! -e "$TEST_DIR/none.db" ]] || fail "report created a database"
echo "ok"
