#!/usr/bin/env bash
# token decode and token validate against the emulator's keys: valid (0), tampered (1,
# bad_signature), missing role (1, names it), wrong tenant (1), usage errors (2).
source "$(dirname "$0")/common.sh"
start_emulator
export AZURE_CLIENT_SECRET
AZURE_CLIENT_SECRET=$(cat "$SECRET_FILE")

run_cli 0 token get --tenant fabrikam.onmicrosoft.com --raw
TOKEN=$OUT
run_cli 0 token get --tenant northwind.onmicrosoft.com --raw --endpoint v1
NORTHWIND_TOKEN=$OUT

# decode: from stdin, header, claims, readable times.
run_cli 0 token decode - <<<"$TOKEN"
expect_contains "$OUT" "header:"
expect_contains "$OUT" "\"alg\": \"RS256\""
expect_contains "$OUT" "\"tid\": \"$FABRIKAM_ID\""
expect_contains "$OUT" "exp:  "
expect_contains "$OUT" "(in 59 min)"
run_cli 1 token decode "not-a-token"
run_cli 2 token decode - </dev/null

# validate: valid, with the roles diff.
run_cli 0 token validate - --require-role Incident.Read.All --require-role AdvancedHunting.Read.All <<<"$TOKEN"
expect_contains "$OUT" "valid:        yes"
expect_contains "$OUT" "missing: (none)"
run_cli 0 token validate "$TOKEN" --tenant fabrikam.onmicrosoft.com --audience xdr
run_cli 0 token validate "$NORTHWIND_TOKEN" --tenant "$NORTHWIND_ID"

# Tampered payload: bad_signature.
IFS=. read -r h p s <<<"$TOKEN"
padded=$p$(printf '%*s' $(((4 - ${#p} % 4) % 4)) '' | tr ' ' '=')
claims=$(printf '%s' "$padded" | tr '_-' '/+' | base64 -d)
expect_contains "$claims" "Incident.Read.All"
forged=$(printf '%s' "${claims/Incident.Read.All/Machine.Isolate}" | base64 -w0 | tr '/+' '_-' | tr -d '=')
run_cli 1 token validate "$h.$forged.$s"
expect_contains "$OUT" "reason:  bad_signature"
# Missing role: named, with the diff.
run_cli 1 token validate "$NORTHWIND_TOKEN" --require-role Incident.Read.All --require-role AdvancedHunting.Read.All
expect_contains "$OUT" "reason:  missing_roles"
expect_contains "$OUT" "missing: AdvancedHunting.Read.All"
expect_contains "$OUT" "present: Incident.Read.All"
# A token of another tenant when one is pinned.
run_cli 1 token validate "$NORTHWIND_TOKEN" --tenant "$FABRIKAM_ID"
expect_contains "$OUT" "valid:   no"
# Wrong audience.
run_cli 1 token validate "$TOKEN" --audience graph
expect_contains "$OUT" "reason:  wrong_audience"
# Usage errors.
run_cli 2 token validate </dev/null
run_cli 2 token validate "$TOKEN" --audience "ftp://nope"
run_cli 2 token validate "$TOKEN" --tenant nowhere.onmicrosoft.com
echo "ok"
