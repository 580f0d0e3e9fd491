#!/usr/bin/env bash
# Certificate credentials against the emulator: a PEM with certificate and key (PS256 x5t#S256 and
# RS256 x5t), a certificate with its key in a second PEM, and a password-protected PFX.
source "$(dirname "$0")/common.sh"
command -v openssl >/dev/null || skip "openssl is needed to make the test certificate"

CERT_APP=5b6c7d8e-9f01-4a2b-8c3d-4e5f60718293
cd "$TEST_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj "/CN=xdrpartner cli test" -days 2 \
  2>/dev/null
cat cert.pem key.pem >both.pem
printf 'pfx-pass-42\n' >pfx-password.txt
openssl pkcs12 -export -inkey key.pem -in cert.pem -out cert.pfx -passout pass:pfx-pass-42 2>/dev/null
chmod 600 key.pem both.pem cert.pfx pfx-password.txt

export XDR_TEST_APP_SECRET="cert-test-secret~not-used"
cat >scenario.json <<JSON
{"apps": [{"client_id": "$CERT_APP", "display_name": "Cert MSSP",
           "secrets": [{"value_env": "XDR_TEST_APP_SECRET"}],
           "certificates": [{"pem": "$TEST_DIR/cert.pem"}]}],
 "tenants": [{"tenant_id": "$FABRIKAM_ID", "domain": "fabrikam.onmicrosoft.com", "display_name": "Fabrikam",
              "consents": [{"client_id": "$CERT_APP", "resource": "xdr", "roles": ["Incident.Read.All", "AdvancedHunting.Read.All"]}]}]}
JSON
start_emulator --config "$TEST_DIR/scenario.json"
export AZURE_CLIENT_ID=$CERT_APP

# PEM (certificate + key), PS256 with x5t#S256 by default.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --client-certificate both.pem --no-cache-file
expect_contains "$OUT" "roles:          AdvancedHunting.Read.All, Incident.Read.All"
# RS256 with x5t, the key in its own file.
run_cli 0 token get --tenant "$FABRIKAM_ID" --client-certificate cert.pem --client-certificate-key key.pem \
  --assertion-alg rs256 --endpoint v1 --no-cache-file
expect_contains "$OUT" "from cache:     no"
# PFX with a password file, and with the chain in x5c.
run_cli 0 token get --tenant fabrikam.onmicrosoft.com --client-certificate cert.pfx \
  --client-certificate-password-file pfx-password.txt --send-certificate-chain --no-cache-file
expect_contains "$OUT" "audience:       https://api.security.microsoft.com"
# PFX from the environment (AZURE_CLIENT_CERTIFICATE_PATH / _PASSWORD).
AZURE_CLIENT_CERTIFICATE_PATH="$TEST_DIR/cert.pfx" AZURE_CLIENT_CERTIFICATE_PASSWORD=pfx-pass-42 \
  run_cli 0 token get --tenant fabrikam.onmicrosoft.com --no-cache-file
# The emulator saw client assertions, never a secret.
log=$(emu_get /_emulator/requests)
expect_contains "$log" "client_assertion_type"
expect_not_contains "$log" "pfx-pass-42" "the PFX password"
# Doctor names the certificate.
run_cli 0 doctor --tenant fabrikam.onmicrosoft.com --client-certificate both.pem --no-cache-file
expect_contains "$OUT" "credential: certificate from both.pem"
# A wrong PFX password and a key file others can read are configuration errors.
printf 'wrong\n' >bad-password.txt && chmod 600 bad-password.txt
run_cli 2 token get --tenant fabrikam.onmicrosoft.com --client-certificate cert.pfx \
  --client-certificate-password-file bad-password.txt --no-cache-file
chmod 644 key.pem
run_cli 2 token get --tenant fabrikam.onmicrosoft.com --client-certificate cert.pem --client-certificate-key key.pem \
  --no-cache-file
# A certificate the app does not know: AADSTS700027 advice.
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.pem -out other.pem -subj "/CN=unknown" -days 2 2>/dev/null
chmod 600 other.pem
run_cli 1 token get --tenant fabrikam.onmicrosoft.com --client-certificate other.pem --no-cache-file
expect_contains "$ERR" "AADSTS"
echo "ok"
