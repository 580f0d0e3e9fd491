#!/usr/bin/env bash
# token get against the emulator: tenant by domain and GUID, v1 and v2 endpoints, summary and
# --raw; the secret from the environment, a file (a 0644 file is refused), standard input; a wrong
# secret explains value vs ID; a tenant that never consented prints the consent link.
source "$(dirname "$0")/common.sh"
start_emulator
SECRET=$(cat "$SECRET_FILE")

# Secret from a file; tenant by domain; v2 (default); summary.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --client-secret-file "$SECRET_FILE" --no-cache-file
expect_contains "$OUT" "tenant:         fabrikam.onmicrosoft.com ($FABRIKAM_ID)"
expect_contains "$OUT" "audience:       https://api.security.microsoft.com"
expect_contains "$OUT" "roles:          AdvancedHunting.Read.All, Incident.Read.All, Incident.ReadWrite.All"
expect_contains "$OUT" "(in 59 min)"
expect_contains "$OUT" "from cache:     no"
expect_contains "$OUT" "endpoint:       v2"

# Secret from the environment; tenant by GUID; v1; --raw prints only the token.
AZURE_CLIENT_SECRET="$SECRET" run_cli 0 token get --tenant "$FABRIKAM_ID" --endpoint v1 --raw --no-cache-file
[[ "$OUT" =~ ^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "--raw printed more than one token"
[[ -z "$ERR" ]] || fail "--raw wrote to stderr: $ERR"
run_cli 0 token decode "$OUT"
expect_contains "$OUT" "\"tid\": \"$FABRIKAM_ID\""
emu_get /_emulator/requests | grep -q "\"path\":\"/$FABRIKAM_ID/oauth2/token\"" || fail "no v1 token request logged"

# v1 by domain, v2 by GUID.
AZURE_CLIENT_SECRET="$SECRET" run_cli 0 token get --tenant fabrikam.onmicrosoft.com --endpoint v1 --no-cache-file
expect_contains "$OUT" "endpoint:       v1"
AZURE_CLIENT_SECRET="$SECRET" run_cli 0 token get --tenant "$FABRIKAM_ID" --endpoint v2 --no-cache-file
expect_contains "$OUT" "tenant:         $FABRIKAM_ID"

# Northwind granted only Incident.Read.All.
AZURE_CLIENT_SECRET="$SECRET" run_cli 0 --output json token get --tenant northwind.onmicrosoft.com --no-cache-file
expect_contains "$OUT" '"roles": [
    "Incident.Read.All"
  ]'

# Secret from standard input.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --client-secret-stdin --no-cache-file <<<"$SECRET"
expect_contains "$OUT" "from cache:     no"

# A secret file others can read is refused before any request.
cp "$SECRET_FILE" "$TEST_DIR/open-secret.txt"
chmod 0644 "$TEST_DIR/open-secret.txt"
before=$(token_requests)
run_cli 2 token get --tenant fabrikam.onmicrosoft.com --client-secret-file "$TEST_DIR/open-secret.txt" --no-cache-file
expect_contains "$ERR" "chmod 600"
[[ "$(token_requests)" == "$before" ]] || fail "a request was sent with a refused secret file"

# A wrong secret (e.g. the secret's ID) gets Entra's AADSTS7000215 and the value-vs-ID advice.
AZURE_CLIENT_SECRET="00000000-1111-2222-3333-444444444444" run_cli 1 token get --tenant fabrikam.onmicrosoft.com --no-cache-file
expect_contains "$ERR" "use the secret's Value, not its Secret ID"
expect_contains "$ERR" "AADSTS7000215"

# Not consented (AADSTS700016): the consent link.
AZURE_CLIENT_SECRET="$SECRET" run_cli 1 token get --tenant tailspin.onmicrosoft.com --no-cache-file
expect_contains "$ERR" "is not consented in tenant 'tailspin.onmicrosoft.com'"
expect_contains "$ERR" "$EMU_URL/common/oauth2/authorize?prompt=consent&client_id=$APP_ID&response_type=code&sso_reload=true"

# Unknown tenant: 90002 advice; usage errors exit 2.
AZURE_CLIENT_SECRET="$SECRET" run_cli 1 token get --tenant nowhere.onmicrosoft.com --no-cache-file
expect_contains "$ERR" "AADSTS90002"
run_cli 2 token get --client-secret-file "$SECRET_FILE"
run_cli 2 token get --tenant fabrikam.onmicrosoft.com --client-secret "$SECRET"
expect_contains "$ERR" "--client-secret is refused"
expect_not_contains "$ERR" "$SECRET" "the secret"
echo "ok"
