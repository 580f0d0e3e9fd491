#!/usr/bin/python3
"""Microsoft's own Python client (MSAL Python, Debian's 1.21) against the real xdr-emulator binary.

Proves the emulator is faithful enough for MSAL: secret and certificate credentials, authority by
tenant GUID and by domain, the documented errors, and a masked request log. An independent
validator (PyJWT) checks every issued token against the emulator's published JWKS, before and
after a signing-key rotation.

Usage: /usr/bin/python3 msal_python_test.py [path/to/xdr-emulator]   (or set XDR_EMULATOR)
Exit 0 when every check passes, 1 when any fails.
"""

import base64
import datetime
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import jwt
import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

XDR_RESOURCE = "https://api.security.microsoft.com"
GRAPH_RESOURCE = "https://graph.microsoft.com"
SECRET_ENV = "XDR_COMPAT_CLIENT_SECRET"
READY_TIMEOUT_S = 15


class Failures:
    """Runs named checks, records each failure, keeps going so one run reports every problem."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def run(self, name, fn):
        started = time.monotonic()
        try:
            fn()
        except Exception as e:  # a check's failure, reported with its name
            self.failed.append(name)
            print(f"FAIL {name} ({time.monotonic() - started:.2f} s): {type(e).__name__}: {e}", flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            return
        self.passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.2f} s)", flush=True)


def make_certificate(common_name):
    """A fresh RSA-2048 key and self-signed certificate: (key PEM, cert PEM, SHA-1 thumbprint hex)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex().upper()


class Emulator:
    """The xdr-emulator process, started with a scenario and stopped by its PID."""

    def __init__(self, binary, workdir, scenario, env):
        self.state_dir = os.path.join(workdir, "state")
        os.makedirs(self.state_dir)
        scenario_path = os.path.join(workdir, "scenario.json")
        with open(scenario_path, "w") as f:
            json.dump(scenario, f)
        ready_path = os.path.join(self.state_dir, "ready.json")
        self.log_path = os.path.join(workdir, "emulator.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--state-dir", self.state_dir, "--ready-file", ready_path,
             "--config", scenario_path],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not os.path.exists(ready_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"xdr-emulator did not become ready; its output:\n{self.output()}")
            time.sleep(0.05)
        with open(ready_path) as f:
            ready = json.load(f)
        self.url = ready["url"]
        self.ca_file = ready["ca_file"]
        self.host = self.url.split("://", 1)[1]
        # requests lets REQUESTS_CA_BUNDLE override Session.verify (psf/requests#3829): trust_env=False.
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = self.ca_file

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def control(self, method, path, body=None):
        r = self.session.request(method, self.url + path, json=body, timeout=10)
        assert r.status_code < 300, f"{method} {path} -> {r.status_code} {r.text}"
        return r.json() if r.content else None

    def stop(self):
        self.session.close()  # idle keep-alive connections would hold the server's workers
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class TokenValidator:
    """Independent of MSAL and of the emulator's code: PyJWT + the published JWKS of each tenant."""

    def __init__(self, emulator):
        self.emu = emulator

    def jwks(self, tenant_id, v2=False):
        path = "discovery/v2.0/keys" if v2 else "discovery/keys"
        r = self.emu.session.get(f"{self.emu.url}/{tenant_id}/{path}", timeout=10)
        assert r.status_code == 200, f"JWKS {path} for {tenant_id}: HTTP {r.status_code}"
        return r.json()["keys"]

    def verify(self, token, tenant_id, audience, roles=None, appidacr=None, client_id=None, v2_keys=False):
        """Verifies signature (RS256, key picked by kid), iss, aud, tid, exp; returns (header, claims)."""
        header = jwt.get_unverified_header(token)
        assert header.get("alg") == "RS256", f"token alg {header.get('alg')!r}, want RS256"
        kid = header.get("kid")
        keys = [k for k in self.jwks(tenant_id, v2_keys) if k.get("kid") == kid]
        assert keys, f"kid {kid!r} is not in the JWKS of tenant {tenant_id}"
        jwk = keys[0]
        # The x5c certificate must carry the same public key as n/e.
        cert = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
        nums = cert.public_key().public_numbers()
        n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
        assert nums.n == n, f"JWKS key {kid}: x5c certificate and n differ"
        key = jwt.PyJWK(jwk, algorithm="RS256").key
        claims = jwt.decode(
            token, key=key, algorithms=["RS256"], audience=audience,
            issuer=f"https://sts.windows.net/{tenant_id}/",
            options={"require": ["exp", "iat", "nbf", "iss", "aud"]})
        assert claims["tid"] == tenant_id, f"tid {claims['tid']} != {tenant_id}"
        assert claims["ver"] == "1.0", f"ver {claims['ver']!r}"
        assert claims["oid"] == claims["sub"], "oid != sub for an app-only token"
        if client_id is not None:
            assert claims["appid"] == client_id, f"appid {claims['appid']} != {client_id}"
        if appidacr is not None:
            assert claims["appidacr"] == appidacr, f"appidacr {claims['appidacr']!r}, want {appidacr!r}"
        if roles is not None:
            assert sorted(claims.get("roles", [])) == sorted(roles), f"roles {claims.get('roles')} != {roles}"
        return header, claims


def expect_error(result, error, code):
    assert "access_token" not in result, f"expected {error}/AADSTS{code}, got a token"
    assert result.get("error") == error, f"error {result.get('error')!r}, want {error!r}: {result}"
    assert code in result.get("error_codes", []), f"error_codes {result.get('error_codes')}, want {code}"
    desc = result.get("error_description", "")
    assert desc.startswith(f"AADSTS{code}:"), f"error_description {desc[:80]!r} does not start with AADSTS{code}:"


def expect_token(result):
    assert "access_token" in result, f"no token: {result.get('error')}: {result.get('error_description', '')[:300]}"
    assert result.get("token_type") == "Bearer", f"token_type {result.get('token_type')!r}"
    return result["access_token"]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("XDR_EMULATOR", "")
    if not binary or not os.access(binary, os.X_OK):
        print("usage: msal_python_test.py path/to/xdr-emulator (or set XDR_EMULATOR)", file=sys.stderr)
        return 2
    started = time.monotonic()
    checks = Failures()
    with tempfile.TemporaryDirectory(prefix="xdr-compat-py-") as work:
        client_id = str(uuid.uuid4())
        client_secret = secrets.token_urlsafe(30) + "~._-"
        key_pem, cert_pem, thumbprint = make_certificate("xdr-compat-msal-python")
        cert_path = os.path.join(work, "client-cert.pem")
        with open(cert_path, "w") as f:
            f.write(cert_pem)
        # A second certificate that is NOT registered: its assertions must fail with AADSTS700027.
        other_key_pem, _, other_thumbprint = make_certificate("unregistered")

        tenants = [
            {"tenant_id": str(uuid.uuid4()), "domain": f"t{i}-{secrets.token_hex(3)}.onmicrosoft.com",
             "display_name": f"Compat Tenant {i}"} for i in range(4)]
        all_roles = ["Incident.Read.All", "AdvancedHunting.Read.All"]
        consents = [
            [{"client_id": client_id, "resource": XDR_RESOURCE, "roles": all_roles},
             {"client_id": client_id, "resource": GRAPH_RESOURCE, "roles": ["SecurityIncident.Read.All"]}],
            [{"client_id": client_id, "resource": XDR_RESOURCE, "roles": ["Incident.Read.All"]}],
            [{"client_id": client_id, "resource": XDR_RESOURCE, "roles": all_roles}],
            [],  # not consented
        ]
        for t, c in zip(tenants, consents):
            t["consents"] = c
        consented, unconsented = tenants[:3], tenants[3]
        expected_roles = {t["tenant_id"]: c[0]["roles"] for t, c in zip(tenants[:3], consents)}
        scenario = {
            "seed": secrets.randbelow(1 << 30),
            "apps": [{
                "client_id": client_id, "display_name": "Compat MSAL Python",
                "secrets": [{"value_env": SECRET_ENV, "expires": "2099-01-01T00:00:00Z"}],
                "certificates": [{"pem": cert_path}],
                "required_roles": {"xdr": all_roles},
            }],
            "tenants": tenants,
        }
        env = dict(os.environ)
        env[SECRET_ENV] = client_secret
        emu = Emulator(binary, work, scenario, env)
        print(f"emulator ready at {emu.url} after {time.monotonic() - started:.1f} s", flush=True)
        try:
            run_checks(checks, emu, client_id, client_secret, key_pem, cert_pem, thumbprint,
                       other_key_pem, other_thumbprint, consented, unconsented, expected_roles)
        finally:
            emu.stop()
            if checks.failed:
                print("--- emulator output ---\n" + emu.output()[-4000:])
    elapsed = time.monotonic() - started
    print(f"{checks.passed} passed, {len(checks.failed)} failed in {elapsed:.1f} s")
    return 1 if checks.failed else 0


def run_checks(checks, emu, client_id, client_secret, key_pem, cert_pem, thumbprint,
               other_key_pem, other_thumbprint, consented, unconsented, expected_roles):
    validator = TokenValidator(emu)
    scopes = [XDR_RESOURCE + "/.default"]
    issued = []  # (token, tenant_id, audience): every token MSAL or we obtained, verified again at the end

    def app_for(tenant_segment, credential):
        # One app object per tenant: MSAL Python 1.21 has no per-request authority.
        return msal.ConfidentialClientApplication(
            client_id, client_credential=credential, authority=f"{emu.url}/{tenant_segment}",
            validate_authority=False, instance_discovery=False, http_client=emu.session)

    def secret_tokens():
        for t in consented:
            for segment in (t["tenant_id"], t["domain"]):
                token = expect_token(app_for(segment, client_secret).acquire_token_for_client(scopes))
                validator.verify(token, t["tenant_id"], XDR_RESOURCE, roles=expected_roles[t["tenant_id"]],
                                 appidacr="1", client_id=client_id)
                issued.append((token, t["tenant_id"], XDR_RESOURCE))

    def default_http_client_with_ca_bundle():
        # The documented set-up: MSAL's own HTTP client (no http_client), the CA through REQUESTS_CA_BUNDLE.
        saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy")}
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
        t = consented[0]

        def plain_app():
            return msal.ConfidentialClientApplication(
                client_id, client_credential=client_secret, authority=f"{emu.url}/{t['tenant_id']}",
                validate_authority=False, instance_discovery=False)
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as other_ca:
                other_ca.write(cert_pem.decode() if isinstance(cert_pem, bytes) else cert_pem)
            os.environ["REQUESTS_CA_BUNDLE"] = other_ca.name
            try:
                plain_app().acquire_token_for_client(scopes)
                raise AssertionError("the emulator was trusted without its CA")
            except requests.exceptions.SSLError:
                pass  # a bundle without the emulator's CA fails: REQUESTS_CA_BUNDLE is what counts
            finally:
                os.unlink(other_ca.name)
            os.environ["REQUESTS_CA_BUNDLE"] = emu.ca_file
            token = expect_token(plain_app().acquire_token_for_client(scopes))
            validator.verify(token, t["tenant_id"], XDR_RESOURCE, roles=expected_roles[t["tenant_id"]],
                             appidacr="1", client_id=client_id)
            issued.append((token, t["tenant_id"], XDR_RESOURCE))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def secret_token_other_resource():
        t = consented[0]
        token = expect_token(app_for(t["domain"], client_secret).acquire_token_for_client([GRAPH_RESOURCE + "/.default"]))
        validator.verify(token, t["tenant_id"], GRAPH_RESOURCE, roles=["SecurityIncident.Read.All"], appidacr="1")
        issued.append((token, t["tenant_id"], GRAPH_RESOURCE))

    def cached_token():
        app = app_for(consented[0]["tenant_id"], client_secret)
        first = expect_token(app.acquire_token_for_client(scopes))
        cached = app.acquire_token_silent(scopes, account=None)
        assert cached and cached.get("access_token") == first, "acquire_token_silent did not return the cached token"
        issued.append((first, consented[0]["tenant_id"], XDR_RESOURCE))

    def certificate_tokens(with_x5c):
        credential = {"private_key": key_pem, "thumbprint": thumbprint}
        if with_x5c:
            credential["public_certificate"] = cert_pem
        for t in consented:
            for segment in (t["tenant_id"], t["domain"]):
                token = expect_token(app_for(segment, credential).acquire_token_for_client(scopes))
                validator.verify(token, t["tenant_id"], XDR_RESOURCE, roles=expected_roles[t["tenant_id"]],
                                 appidacr="2", client_id=client_id)
                issued.append((token, t["tenant_id"], XDR_RESOURCE))

    def certificate_second_request_same_app():
        # MSAL Python keeps its signed assertion (jti included) for up to 9 minutes and sends it again
        # on the next request (oauth2cli/assertion.py AutoRefresher); Entra ID accepts that.
        t = consented[0]
        app = app_for(t["tenant_id"], {"private_key": key_pem, "thumbprint": thumbprint})
        for _ in range(2):
            token = expect_token(app.acquire_token_for_client(scopes))
            validator.verify(token, t["tenant_id"], XDR_RESOURCE, appidacr="2")
            issued.append((token, t["tenant_id"], XDR_RESOURCE))

    def v1_endpoint_tokens():
        # The v1 endpoint (resource=), as Defender's docs show it; MSAL only speaks v2.
        for t in consented:
            r = emu.session.post(f"{emu.url}/{t['domain']}/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
                "resource": XDR_RESOURCE}, timeout=10)
            assert r.status_code == 200, f"v1 token: HTTP {r.status_code} {r.text[:300]}"
            body = r.json()
            assert isinstance(body["expires_in"], str) and body["resource"] == XDR_RESOURCE, f"v1 body {body.keys()}"
            validator.verify(body["access_token"], t["tenant_id"], XDR_RESOURCE, appidacr="1")
            issued.append((body["access_token"], t["tenant_id"], XDR_RESOURCE))

    def wrong_secret():
        wrong = client_secret[:-4] + "XXXX"
        for segment in (consented[0]["tenant_id"], consented[1]["domain"]):
            expect_error(app_for(segment, wrong).acquire_token_for_client(scopes), "invalid_client", 7000215)

    def unregistered_certificate():
        result = app_for(consented[0]["tenant_id"], {"private_key": other_key_pem, "thumbprint": other_thumbprint}
                         ).acquire_token_for_client(scopes)
        expect_error(result, "invalid_client", 700027)

    def not_consented():
        for segment in (unconsented["tenant_id"], unconsented["domain"]):
            expect_error(app_for(segment, client_secret).acquire_token_for_client(scopes), "unauthorized_client", 700016)
            cert = {"private_key": key_pem, "thumbprint": thumbprint}
            expect_error(app_for(segment, cert).acquire_token_for_client(scopes), "unauthorized_client", 700016)

    def request_log_masks_secrets():
        log = emu.control("GET", "/_emulator/requests")["requests"]
        token_posts = [e for e in log if e.get("method") == "POST" and "/oauth2/" in e.get("path", "")]
        assert token_posts, "the request log has no token requests"
        with_secret = [e for e in token_posts if "client_secret" in e.get("form", {})]
        with_assertion = [e for e in token_posts if "client_assertion" in e.get("form", {})]
        assert with_secret and with_assertion, "the log lacks secret or assertion requests"
        for e in with_secret:
            assert e["form"]["client_secret"] == "***", f"client_secret not masked in {e['path']}"
        for e in with_assertion:
            assert e["form"]["client_assertion"] == "***", f"client_assertion not masked in {e['path']}"
        text = json.dumps(log)
        assert client_secret not in text, "the client secret appears in the request log"
        assert client_secret.replace("~", "%7E") not in text, "the URL-encoded secret appears in the request log"
        for token, _, _ in issued:
            assert token.split(".")[2] not in text, "an issued token appears in the request log"
        # MSAL's extra parameters and headers are accepted and recorded.
        assert any(e["form"].get("client_info") == "1" for e in with_secret), "MSAL's client_info=1 not seen"

    def rotation():
        t = consented[1]
        app = app_for(t["tenant_id"], client_secret)
        old_token = expect_token(app.acquire_token_for_client(scopes))
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        rotated = emu.control("POST", "/_emulator/keys/rotate", {"drop_old": False})
        assert rotated["previous_kid"] == old_kid, f"previous_kid {rotated['previous_kid']} != {old_kid}"
        new_kid = rotated["signing_kid"]
        assert new_kid != old_kid and old_kid in rotated["keys"], f"rotation result {rotated}"
        published = [k["kid"] for k in validator.jwks(t["tenant_id"])]
        assert {old_kid, new_kid} <= set(published), f"JWKS after rotation {published}"
        new_token = expect_token(app.acquire_token_for_client(scopes))  # 1.21 always asks the network
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid, "token after rotation not signed by the new key"
        for token in (old_token, new_token):
            validator.verify(token, t["tenant_id"], XDR_RESOURCE, appidacr="1")
            validator.verify(token, t["tenant_id"], XDR_RESOURCE, v2_keys=True)
        issued.append((new_token, t["tenant_id"], XDR_RESOURCE))
        # Certificate credentials also get tokens signed by the new key.
        cert_token = expect_token(app_for(t["domain"], {"private_key": key_pem, "thumbprint": thumbprint})
                                  .acquire_token_for_client(scopes))
        assert jwt.get_unverified_header(cert_token)["kid"] == new_kid, "certificate token not signed by the new key"
        issued.append((cert_token, t["tenant_id"], XDR_RESOURCE))
        # Every token issued so far verifies while its key is published (old and new).
        for token, tid, aud in issued:
            validator.verify(token, tid, aud)
        # Dropping the old key: the old token must stop verifying (the validator can fail).
        emu.control("POST", "/_emulator/keys/rotate", {"drop_old": True})
        try:
            validator.verify(old_token, t["tenant_id"], XDR_RESOURCE)
        except AssertionError as e:
            assert "not in the JWKS" in str(e), f"unexpected validator failure: {e}"
        else:
            raise AssertionError("a token signed by a dropped key still verified")
        newest = expect_token(app.acquire_token_for_client(scopes))
        validator.verify(newest, t["tenant_id"], XDR_RESOURCE, appidacr="1")

    def tampered_token_rejected():
        token, tid, aud = issued[0]
        head, body, sig = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["roles"] = ["Incident.ReadWrite.All"]
        forged = head + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + "." + sig
        try:
            validator.verify(forged, tid, aud)
        except jwt.InvalidSignatureError:
            return
        raise AssertionError("a token with changed claims verified")

    checks.run("secret: token per consented tenant, authority by GUID and by domain", secret_tokens)
    checks.run("secret: MSAL's own HTTP client with REQUESTS_CA_BUNDLE", default_http_client_with_ca_bundle)
    checks.run("secret: token for a second resource (Graph)", secret_token_other_resource)
    checks.run("secret: acquire_token_silent returns the cached token", cached_token)
    checks.run("certificate RS256+x5t: token per tenant, by GUID and by domain", lambda: certificate_tokens(False))
    checks.run("certificate RS256+x5t+x5c: token per tenant, by GUID and by domain", lambda: certificate_tokens(True))
    checks.run("certificate: second token from the same app (MSAL reuses its assertion)",
               certificate_second_request_same_app)
    checks.run("v1 endpoint (resource=): token per tenant by domain", v1_endpoint_tokens)
    checks.run("wrong secret -> invalid_client AADSTS7000215", wrong_secret)
    checks.run("unregistered certificate -> invalid_client AADSTS700027", unregistered_certificate)
    checks.run("tenant without consent -> unauthorized_client AADSTS700016", not_consented)
    checks.run("request log masks the secret and assertions", request_log_masks_secrets)
    checks.run("tampered token fails verification", tampered_token_rejected)
    checks.run("key rotation: new kid, old and new tokens verify, dropped key stops verifying", rotation)


if __name__ == "__main__":
    sys.exit(main())
