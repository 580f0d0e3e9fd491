#!/usr/bin/python3
"""Checks of a sync store (SQLite) for tests/cli/sync*.sh; Debian's python3 with its sqlite3 module.

  sync_store.py dump DB                  canonical dump of the synced rows and watermarks (no run times)
  sync_store.py api-equal DB TENANT URL CA TOKEN_FILE
                                         the tenant's rows equal what GET /api/incidents serves: same incident
                                         ids, and per incident lastUpdateTime, status, severity, assignedTo,
                                         title and alert ids
  sync_store.py integrity DB             no duplicate keys; every alert, device and entity row belongs to an
                                         incident of its own tenant; per-tenant incident counts printed
  sync_store.py count DB TENANT          the tenant's incident count
Exits 1 with a sentence on the first difference.
"""
import json
import sqlite3
import ssl
import sys
import urllib.request

TABLES = {
    "incidents": "tenant_id, incident_id",
    "alerts": "tenant_id, alert_id",
    "alert_devices": "tenant_id, alert_id, ordinal",
    "alert_entities": "tenant_id, alert_id, ordinal",
}


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def connect(path):
    return sqlite3.connect("file:" + path + "?mode=ro", uri=True)


def dump(path):
    db = connect(path)
    for table, key in TABLES.items():
        for row in db.execute(f"SELECT * FROM {table} ORDER BY {key}"):
            print(table, json.dumps(row))
    for row in db.execute("SELECT tenant_id, api, watermark FROM sync_state ORDER BY tenant_id, api"):
        print("sync_state", json.dumps(row))


def norm_time(text):
    if text is None:
        return None
    text = text.rstrip("Z")
    main, _, fraction = text.partition(".")
    return main + "." + (fraction + "0000000")[:7]


def api_incidents(url, ca, token):
    context = ssl.create_default_context(cafile=ca)
    out, skip = [], 0
    while True:
        request = urllib.request.Request(f"{url}/api/incidents?$top=100&$skip={skip}",
                                         headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(request, context=context) as response:
            page = json.load(response)["value"]
        out.extend(page)
        if len(page) < 100:
            return out
        skip += len(page)


def api_equal(path, tenant, url, ca, token_file):
    token = open(token_file).read().strip()
    served = {str(i["incidentId"]): i for i in api_incidents(url, ca, token)}
    db = connect(path)
    stored = {r[0]: r for r in db.execute(
        "SELECT incident_id, last_update_time, status, severity, assigned_to, incident_name FROM incidents "
        "WHERE tenant_id = ?", (tenant,))}
    if set(served) != set(stored):
        fail(f"tenant {tenant}: {len(stored)} incidents stored, {len(served)} served; only stored: "
             f"{sorted(set(stored) - set(served))[:5]}, only served: {sorted(set(served) - set(stored))[:5]}")
    alerts = {}
    for incident_id, alert_id in db.execute("SELECT incident_id, alert_id FROM alerts WHERE tenant_id = ?", (tenant,)):
        alerts.setdefault(incident_id, set()).add(alert_id)
    for incident_id, i in served.items():
        row = stored[incident_id]
        expected = (norm_time(i["lastUpdateTime"]), i["status"].lower(), i["severity"].lower(), i["assignedTo"],
                    i["incidentName"])
        got = (norm_time(row[1]), row[2].lower(), row[3].lower(), row[4], row[5])
        if expected != got:
            fail(f"tenant {tenant} incident {incident_id}: served {expected}, stored {got}")
        if {a["alertId"] for a in i["alerts"]} != alerts.get(incident_id, set()):
            fail(f"tenant {tenant} incident {incident_id}: alert ids differ")
    print(f"{tenant}: {len(stored)} incidents equal to the API")


def integrity(path):
    db = connect(path)
    for table, key in TABLES.items():
        total = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        distinct = db.execute(f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table})").fetchone()[0]
        if total != distinct:
            fail(f"{table}: {total} rows but {distinct} distinct keys")
    orphans = db.execute("SELECT count(*) FROM alerts a LEFT JOIN incidents i ON i.tenant_id = a.tenant_id AND "
                         "i.incident_id = a.incident_id WHERE i.incident_id IS NULL").fetchone()[0]
    if orphans:
        fail(f"{orphans} alert(s) are not under an incident of their own tenant")
    for table in ("alert_devices", "alert_entities"):
        orphans = db.execute(f"SELECT count(*) FROM {table} c LEFT JOIN alerts a ON a.tenant_id = c.tenant_id AND "
                             "a.alert_id = c.alert_id WHERE a.alert_id IS NULL").fetchone()[0]
        if orphans:
            fail(f"{orphans} {table} row(s) are not under an alert of their own tenant")
    for tenant, n in db.execute("SELECT tenant_id, count(*) FROM incidents GROUP BY tenant_id ORDER BY tenant_id"):
        print(tenant, n)


def main(argv):
    if len(argv) == 3 and argv[1] == "dump":
        dump(argv[2])
    elif len(argv) == 7 and argv[1] == "api-equal":
        api_equal(*argv[2:])
    elif len(argv) == 3 and argv[1] == "integrity":
        integrity(argv[2])
    elif len(argv) == 4 and argv[1] == "count":
        print(connect(argv[2]).execute("SELECT count(*) FROM incidents WHERE tenant_id = ?", (argv[3],)).fetchone()[0])
    else:
        fail("usage: see the header of " + argv[0])


if __name__ == "__main__":
    main(sys.argv)
