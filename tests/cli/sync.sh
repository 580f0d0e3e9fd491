#!/usr/bin/env bash
# sync against the real emulator: the store equals what the API serves, per tenant (isolation); a run under
# injected faults (429 + Retry-After, 503, a dropped connection) ends equal, row for row, to a fault-free one;
# an incremental run after churn asks for lastUpdateTime ge (watermark - overlap) and fetches only the changes;
# Tailspin without consent gets its consent link (exit 3); a tenant gone from the directory, a corrupt and a
# locked database file give clear errors while the other tenants are still synced; --watch polls until Ctrl-C.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sync_support.bash"
write_sync_scenario 60
A="$TEST_DIR/a.db"
B="$TEST_DIR/b.db"
export XDR_DB="$A"
run_cli 0 tenants add "$FABRIKAM_ID" --name Fabrikam --label env=prod
run_cli 0 tenants add northwind.onmicrosoft.com --name Northwind
run_cli 0 tenants add "$TAILSPIN_ID" --name Tailspin
cp "$A" "$B"

token_file() { "$XDRPARTNER" token get --tenant "$1" --raw >"$TEST_DIR/token-$1"; echo "$TEST_DIR/token-$1"; }
api_equal() { store_py api-equal "$1" "$2" "$EMU_URL" "$EMU_CA" "$(token_file "$2")" >/dev/null; }

# 1. Fault-free: both consented tenants stored exactly as served; Tailspin fails with its consent link.
run_cli 3 sync --db "$A"
expect_contains "$OUT" "consent_missing  Tailspin ($TAILSPIN_ID)"
expect_contains "$OUT" "consent link for the customer's administrator: $EMU_URL/$TAILSPIN_ID/v2.0/adminconsent?client_id=$APP_ID"
expect_contains "$OUT" "Fabrikam ($FABRIKAM_ID)"
expect_contains "$OUT" "60 incident(s)"
expect_contains "$OUT" "3 tenant(s) in"
expect_contains "$OUT" "2 ok, 1 consent_missing; 85 rows"
api_equal "$A" "$FABRIKAM_ID"
api_equal "$A" "$NORTHWIND_ID"
# Isolation: each tenant's rows are exactly its own API's (above); nothing hangs under another tenant.
COUNTS=$(store_py integrity "$A")
[[ "$COUNTS" == "$FABRIKAM_ID 60"$'\n'"$NORTHWIND_ID 25" ]] || fail "unexpected per-tenant counts: $COUNTS"

# 2. Under faults (the API route has no tenant in its path: the rules hit whichever call comes), small pages so
#    they land mid-run: the same rows and watermarks as the fault-free run.
emu_delete /_emulator/requests >/dev/null
emu_post /_emulator/faults "{\"route\":\"api\",\"count\":1,\"status\":429,\"retry_after\":1}" >/dev/null
emu_post /_emulator/faults "{\"route\":\"api\",\"count\":1,\"status\":503}" >/dev/null
emu_post /_emulator/faults "{\"route\":\"api\",\"count\":1,\"drop\":true}" >/dev/null
emu_post /_emulator/faults "{\"route\":\"api\",\"count\":1,\"status\":503}" >/dev/null
run_cli 3 sync --db "$B" --page-size 10 --concurrency 2
expect_contains "$OUT" "2 ok, 1 consent_missing"
LOG=$(emu_get /_emulator/requests)
for s in 429 503; do grep -q "\"status\":$s" <<<"$LOG" || fail "no $s was served: the faults did not apply"; done
[[ $(emu_get /_emulator/faults | grep -o '"remaining":0' | wc -l) == 4 ]] || fail "not every fault rule was consumed"
emu_delete /_emulator/faults >/dev/null
dump_equal "$A" "$B" "faults"

# 3. Incremental: after churn, the next run asks from (watermark - overlap) and gets only the changes.
run_cli 0 tenants disable Tailspin
WM=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT watermark FROM sync_state WHERE tenant_id=? AND api='legacy'\", (sys.argv[2],)).fetchone()[0])" "$A" "$FABRIKAM_ID")
emu_post /_emulator/tenants/$FABRIKAM_ID/churn '{"create":3,"update":4}' >/dev/null
sleep 1.1 # the changes stamped at least a second after the old watermark, outside the 1 s overlap
emu_delete /_emulator/requests >/dev/null
run_cli 0 --output json sync --db "$A" --overlap 1s
/usr/bin/python3 - "$OUT" "$(emu_get /_emulator/requests)" "$WM" "$FABRIKAM_ID" "$EMU_URL" "$EMU_CA" "$(token_file "$FABRIKAM_ID")" <<'PY' || fail "incremental run"
import datetime, json, ssl, sys, urllib.request
out, log, wm, tenant, url, ca, token_file = sys.argv[1:]
def parse(t):
    t = t.rstrip("Z"); main, _, frac = t.partition(".")
    return datetime.datetime.fromisoformat(main) + datetime.timedelta(microseconds=int((frac + "000000")[:6]))
since = parse(wm) - datetime.timedelta(seconds=1)
# The log names no tenant for API calls (the token does): one request per tenant, each incremental, and
# one of them from exactly this tenant's watermark minus the overlap.
requests = [r for r in json.loads(log)["requests"] if r["path"] == "/api/incidents"]
assert len(requests) == 2, f"{len(requests)} incident requests for two tenants with few changes"
filters = [r["query"].get("$filter", "") for r in requests]
assert all(f.startswith("lastUpdateTime ge ") for f in filters), filters
assert [parse(f.split(" ge ")[1]) for f in filters].count(since) == 1, f"filters {filters}, expected since {since} (watermark {wm} - 1 s)"
token = open(token_file).read().strip()
req = urllib.request.Request(url + "/api/incidents?$top=100", headers={"Authorization": "Bearer " + token})
served = json.load(urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca)))["value"]
changed = [i for i in served if parse(i["lastUpdateTime"]) >= since]
assert len(changed) >= 7, f"only {len(changed)} incidents changed since {since}"
rows = {t["tenant_id"]: t["rows"] for t in json.loads(out)["tenants"]}
assert rows[tenant] == len(changed), f"{rows[tenant]} fetched, {len(changed)} changed within the overlap"
PY
api_equal "$A" "$FABRIKAM_ID"
api_equal "$A" "$NORTHWIND_ID"
[[ $(store_py count "$A" "$FABRIKAM_ID") == 63 ]] || fail "the 3 created incidents were not added"

# 4. A tenant that no longer exists in the directory: a clear error, the others synced.
run_cli 0 tenants add contoso.onmicrosoft.com --name Contoso
emu_delete /_emulator/tenants/$CONTOSO_ID >/dev/null
emu_post /_emulator/tenants/$NORTHWIND_ID/churn '{"create":2}' >/dev/null
run_cli 3 sync --db "$A"
expect_contains "$OUT" "Contoso ($CONTOSO_ID)"
expect_contains "$OUT" "AADSTS90002"
expect_contains "$OUT" "2 ok, 1 error"
api_equal "$A" "$NORTHWIND_ID"
[[ $(store_py count "$A" "$NORTHWIND_ID") == 27 ]] || fail "Northwind was not synced next to the missing tenant"
run_cli 0 tenants remove Contoso

# 5. --api graph: the same incidents through the Graph security API (pages of 50, $expand=alerts), kept under
#    their own watermark; the next Graph run filters on lastUpdateDateTime.
emu_post /_emulator/tenants/$FABRIKAM_ID/consents "{\"client_id\":\"$APP_ID\",\"resource\":\"graph\",\"roles\":[\"SecurityIncident.Read.All\"]}" >/dev/null
emu_delete /_emulator/requests >/dev/null
run_cli 0 sync --db "$A" --api graph --label env=prod
expect_contains "$OUT" "63 incident(s)"
expect_contains "$OUT" "in 2 page(s)"
api_equal "$A" "$FABRIKAM_ID"
run_cli 0 sync --db "$A" --api graph --label env=prod
LOG=$(emu_get /_emulator/requests)
grep -q '"$expand":"alerts"' <<<"$LOG" || fail "Graph incidents were listed without their alerts"
grep -q '"$filter":"lastUpdateDateTime ge ' <<<"$LOG" || fail "the second Graph run was not incremental"
/usr/bin/python3 -c "import sqlite3,sys; n=sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM sync_state WHERE tenant_id=? AND watermark IS NOT NULL\", (sys.argv[2],)).fetchone()[0]; sys.exit(0 if n == 2 else 1)" "$A" "$FABRIKAM_ID" ||
  fail "Fabrikam has not one watermark per API"

# 6. A locked database (another process holds a write transaction): a clear error after the busy timeout,
#    nothing lost; once released the next run completes.
rm -f "$TEST_DIR/locked"
/usr/bin/python3 -c "
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE')
open(sys.argv[2], 'w').close(); time.sleep(30)" "$A" "$TEST_DIR/locked" &
LOCKER=$!
for ((i = 0; i < 100; i++)); do [[ -e "$TEST_DIR/locked" ]] && break; sleep 0.05; done
before=$(store_py dump "$A" | md5sum)
emu_post /_emulator/tenants/$FABRIKAM_ID/churn '{"update":2}' >/dev/null
run_cli 3 sync --db "$A" --label env=prod
expect_contains "$OUT" "locked"
kill "$LOCKER"; wait "$LOCKER" 2>/dev/null || true
[[ $(store_py dump "$A" | md5sum) == "$before" ]] || fail "the locked run changed the store"
run_cli 0 sync --db "$A"
api_equal "$A" "$FABRIKAM_ID"

# 7. --watch: polls again every interval (a change made between rounds is stored), Ctrl-C exits 130.
emu_post /_emulator/tenants/$NORTHWIND_ID/churn '{"create":1}' >/dev/null
"$XDRPARTNER" sync --db "$A" --watch 1s >"$TEST_DIR/watch.out" 2>"$TEST_DIR/watch.err" &
WATCHER=$!
for ((i = 0; i < 100; i++)); do grep -q "tenant(s) in" "$TEST_DIR/watch.out" && break; sleep 0.05; done
emu_post /_emulator/tenants/$NORTHWIND_ID/churn '{"create":1}' >/dev/null
for ((i = 0; i < 100; i++)); do (( $(grep -c "tenant(s) in" "$TEST_DIR/watch.out") >= 2 )) && break; sleep 0.05; done
kill -INT "$WATCHER"
status=0
wait "$WATCHER" || status=$?
[[ "$status" == 130 ]] || { cat "$TEST_DIR/watch.out" "$TEST_DIR/watch.err" >&2; fail "sync --watch exited $status after Ctrl-C, not 130"; }
expect_contains "$(cat "$TEST_DIR/watch.out")" "watching 2 tenant(s) every 1 s"
(( $(grep -c "tenant(s) in" "$TEST_DIR/watch.out") >= 2 )) || fail "sync --watch did not run a second round"
[[ $(store_py count "$A" "$NORTHWIND_ID") == 29 ]] || fail "the incident created between rounds was not stored"

# 8. A corrupt database file: a clear error naming the file, nothing synced.
head -c 8192 /dev/urandom >"$TEST_DIR/corrupt.db"
run_cli 1 sync --db "$TEST_DIR/corrupt.db"
expect_contains "$ERR" "$TEST_DIR/corrupt.db"
expect_contains "$ERR" "not a database"
echo "PASS"
