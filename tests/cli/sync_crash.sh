#!/usr/bin/env bash
# Crash safety of sync: `xdrpartner sync` killed with SIGKILL at moments spread over a run (with random jitter),
# then run again to the end: the store equals a reference sync of the same data, row for row and watermark for
# watermark, with no duplicates. SYNC_CRASH_RUNS runs (default 3); the `slow` ctest label runs 20
# (XDR_SLOW_TESTS=1 ctest --preset dev -L slow).
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sync_support.bash"
RUNS=${SYNC_CRASH_RUNS:-3}
if (( RUNS > 3 )) && [[ -z "${XDR_SLOW_TESTS:-}" ]]; then
  skip "$RUNS crash runs belong to the slow suite: set XDR_SLOW_TESTS=1"
fi
write_sync_scenario 3000
REGISTRY="$TEST_DIR/registry.db"
export XDR_DB="$REGISTRY"
run_cli 0 tenants add "$FABRIKAM_ID" --name Fabrikam
run_cli 0 tenants add "$NORTHWIND_ID" --name Northwind

# Pages of 100: 31 calls per run, within the client's 50-per-minute budget of the tenant (smaller pages would
# make each run wait a minute for the quota).
# The reference (its duration sets the kill moments); the first call also makes the emulator generate the data.
cp "$REGISTRY" "$TEST_DIR/ref.db"
run_cli 0 sync --db "$TEST_DIR/ref.db"
cp "$REGISTRY" "$TEST_DIR/timing.db"
start=$(date +%s%N)
run_cli 0 sync --db "$TEST_DIR/timing.db"
duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
(( duration_ms > 0 )) || duration_ms=1
store_py integrity "$TEST_DIR/ref.db" >/dev/null

killed_mid_run=0
for ((run = 0; run < RUNS; run++)); do
  db="$TEST_DIR/run-$run.db"
  cp "$REGISTRY" "$db"
  # Spread over the run: slot `run` of RUNS, plus up to one slot of random jitter.
  slot=$(( duration_ms / RUNS ))
  delay_ms=$(( run * slot + RANDOM % (slot + 1) ))
  "$XDRPARTNER" sync --db "$db" >"$TEST_DIR/killed.out" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  status=0
  wait "$pid" || status=$?
  partial=$(store_py count "$db" "$FABRIKAM_ID")
  if [[ "$status" == 137 ]]; then
    (( partial < 3000 )) && killed_mid_run=$((killed_mid_run + 1))
  fi
  echo "run $run: killed after ${delay_ms} ms (exit $status), $partial Fabrikam incidents stored"
  # Resumed: the same store as the reference, and nothing twice.
  run_cli 0 sync --db "$db"
  store_py integrity "$db" >/dev/null
  dump_equal "$TEST_DIR/ref.db" "$db" "run $run (killed after $delay_ms ms)"
done
(( killed_mid_run > 0 )) || fail "no run was killed before it had stored everything (a run took ${duration_ms} ms)"
echo "PASS: $RUNS runs, $killed_mid_run killed mid-run"
