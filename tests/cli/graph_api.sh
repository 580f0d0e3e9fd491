#!/usr/bin/env bash
# The same work through Microsoft Graph security (incidents, runHuntingQuery) and Defender for Endpoint's
# advanced queries, against the emulator: Graph shows the same incidents as the legacy API, an update made
# through Graph is seen through the legacy API, hunting splits by Graph's Timespan, and the errors name the
# missing Graph permission and the consent link.
source "$(dirname "$0")/common.sh"
start_emulator
export AZURE_CLIENT_SECRET
AZURE_CLIENT_SECRET=$(cat "$SECRET_FILE")
export COLUMNS=120
T=fabrikam.onmicrosoft.com

# Both APIs list the same incidents in the same order (ids, statuses, severities).
run_cli 0 --output ndjson incidents list --tenant "$T"
LEGACY=$(sed -E 's/^\{"id":"([0-9]+)".*"status":"([a-zA-Z]+)".*"severity":"([a-zA-Z]+)".*/\1 \2 \3/' <<<"$OUT")
[[ $(wc -l <<<"$LEGACY") == 25 ]] || fail "the legacy API did not list 25 incidents"
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output ndjson incidents list --tenant "$T" --api graph
GRAPH=$(sed -E 's/^\{"id":"([0-9]+)".*"status":"([a-zA-Z]+)".*"severity":"([a-zA-Z]+)".*/\1 \2 \3/' <<<"$OUT")
[[ "$LEGACY" == "$GRAPH" ]] || fail "Graph and the legacy API list different incidents: $(diff <(echo "$LEGACY") <(echo "$GRAPH"))"
LOG=$(emu_get /_emulator/requests)
grep -q '"path":"/v1.0/security/incidents"' <<<"$LOG" || fail "the Graph list did not call /v1.0/security/incidents"
! grep -q '"path":"/api/incidents"' <<<"$LOG" || fail "the Graph list called the legacy API"

# Severity is filtered by Graph itself (no client-side note), in camelCase.
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output ndjson incidents list --tenant "$T" --api graph --severity High --status Active,InProgress
expect_not_contains "$ERR" "applied client-side" "a client-side note"
grep -q "severity eq 'high'" <<<"$(emu_get /_emulator/requests)" || fail "the severity filter was not sent to Graph"
if [[ -n "$OUT" ]]; then
  ! grep -v '"severity":"high"' <<<"$OUT" >/dev/null || fail "Graph listed an incident of another severity"
fi

# Update through Graph (customTags, then the comment by POST .../comments); the legacy API sees it.
ID=$(head -1 <<<"$GRAPH" | cut -d' ' -f1)
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output json incidents update "$ID" --tenant "$T" --api graph --status InProgress \
  --classification TruePositive --determination Phishing --assign-to soc@fabrikam.onmicrosoft.com --tag graph --comment "via Graph"
expect_contains "$OUT" '"status": "inProgress"'
LOG=$(emu_get /_emulator/requests)
grep -q "\"method\":\"PATCH\",\"path\":\"/v1.0/security/incidents/$ID\"" <<<"$LOG" || fail "no Graph PATCH of incident $ID"
grep -q "\"method\":\"POST\",\"path\":\"/v1.0/security/incidents/$ID/comments\"" <<<"$LOG" || fail "the comment was not POSTed to Graph"
run_cli 0 --output json incidents get "$ID" --tenant "$T"
expect_contains "$OUT" '"status": "inProgress"'
expect_contains "$OUT" '"determination": "phishing"'
expect_contains "$OUT" '"assignedTo": "soc@fabrikam.onmicrosoft.com"'
expect_contains "$OUT" '"comment": "via Graph"'
run_cli 0 --output json incidents get "$ID" --tenant "$T" --api graph
expect_contains "$OUT" '"tags": ['
expect_contains "$OUT" '"graph"'

# Hunting through Graph: the same rows as the legacy API; split by Graph's Timespan gives the same rows.
Q='AlertInfo | project AlertId, Severity | order by AlertId asc'
run_cli 0 --output csv hunt --tenant "$T" "$Q"
LEGACY_ROWS=$OUT
run_cli 0 --output csv hunt --tenant "$T" --api graph "$Q"
[[ "$OUT" == "$LEGACY_ROWS" ]] || fail "Graph's runHuntingQuery and the legacy API gave different rows"
run_cli 0 --output ndjson hunt --tenant "$T" --api graph 'DeviceProcessEvents | project Timestamp, DeviceName' --timespan P3D
WHOLE=$(wc -l <<<"$OUT")
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output ndjson hunt --tenant "$T" --api graph 'DeviceProcessEvents | project Timestamp, DeviceName' --timespan P3D --split-by-time
[[ $(wc -l <<<"$OUT") == "$WHOLE" ]] || fail "the split Graph query did not return the same rows as the whole one"
grep -q '"path":"/v1.0/security/runHuntingQuery"' <<<"$(emu_get /_emulator/requests)" || fail "no runHuntingQuery call"

# Defender for Endpoint's advanced queries (Fabrikam granted AdvancedQuery.Read.All): the same rows.
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output csv hunt --tenant "$T" --api mde "$Q"
[[ "$OUT" == "$LEGACY_ROWS" ]] || fail "Defender for Endpoint's advanced queries gave different rows"
grep -q '"path":"/api/advancedqueries/run"' <<<"$(emu_get /_emulator/requests)" || fail "no advancedqueries call"

# Northwind granted no Graph permission: the error names the tenant, the missing permission and the link.
run_cli 1 incidents list --tenant northwind.onmicrosoft.com --api graph
expect_contains "$ERR" "northwind.onmicrosoft.com"
expect_contains "$ERR" "SecurityIncident.Read"
expect_contains "$ERR" "$EMU_URL/common/oauth2/authorize?prompt=consent&client_id=$APP_ID"
echo "PASS"
