#!/usr/bin/env bash
# doctor against the emulator: fabrikam passes (0); tailspin (never consented) fails (1) and prints
# the consent link; northwind lacks AdvancedHunting.Read.All (1); consent-url prints the links.
source "$(dirname "$0")/common.sh"
start_emulator

run_cli 0 doctor --tenant fabrikam.onmicrosoft.com --client-secret-file "$SECRET_FILE" --api-base "$EMU_URL"
expect_contains "$OUT" "[ OK ] configuration: client $APP_ID, authority $EMU_URL"
expect_contains "$OUT" "[ OK ] authority: tenant fabrikam.onmicrosoft.com is $FABRIKAM_ID"
expect_contains "$OUT" "[ OK ] token (xdr)"
expect_contains "$OUT" "[ OK ] roles (xdr)"
expect_contains "$OUT" "[ OK ] token validation (xdr)"
expect_contains "$OUT" "[ OK ] Defender XDR API: GET $EMU_URL/api/incidents?\$top=1: 200, the token is accepted"
expect_contains "$OUT" "All checks passed."

# mde and graph too, as JSON.
run_cli 0 --output json doctor --tenant "$FABRIKAM_ID" --client-secret-file "$SECRET_FILE" --resource xdr \
  --resource mde --resource graph
expect_contains "$OUT" '"ok": true'
expect_contains "$OUT" '"check": "token validation (mde)"'

run_cli 1 doctor --tenant tailspin.onmicrosoft.com --client-secret-file "$SECRET_FILE"
expect_contains "$OUT" "[FAIL] token (xdr)"
expect_contains "$OUT" "consent link (partner guide): $EMU_URL/common/oauth2/authorize?prompt=consent&client_id=$APP_ID&response_type=code&sso_reload=true"
expect_contains "$OUT" "admin-consent link (v2): $EMU_URL/$TAILSPIN_ID/v2.0/adminconsent?client_id=$APP_ID"

run_cli 1 doctor --tenant northwind.onmicrosoft.com --client-secret-file "$SECRET_FILE"
expect_contains "$OUT" "[FAIL] roles (xdr): missing AdvancedHunting.Read.All"

# Consent withdrawn at run time: fabrikam now fails like tailspin.
emu_delete "/_emulator/tenants/$FABRIKAM_ID/consents/$APP_ID" >/dev/null
run_cli 1 doctor --tenant fabrikam.onmicrosoft.com --client-secret-file "$SECRET_FILE"
expect_contains "$OUT" "AADSTS700016"

run_cli 1 doctor --tenant nowhere.onmicrosoft.com --client-secret-file "$SECRET_FILE"
expect_contains "$OUT" "[FAIL] authority"
expect_contains "$OUT" "AADSTS90002"
run_cli 2 doctor --client-secret-file "$SECRET_FILE"

# consent-url: the partner-guide link exactly, and the v2 link for a tenant.
run_cli 0 consent-url --v1 --authority-host https://login.microsoftonline.com
[[ "$OUT" == "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=$APP_ID&response_type=code&sso_reload=true" ]] \
  || fail "v1 link: $OUT"
run_cli 0 consent-url --tenant "$TAILSPIN_ID" --state s1
expect_contains "$OUT" "$EMU_URL/$TAILSPIN_ID/v2.0/adminconsent?client_id=$APP_ID&scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com&state=s1"
echo "ok"
