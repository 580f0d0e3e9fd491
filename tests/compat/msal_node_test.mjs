// Microsoft's own Node client (@azure/msal-node 7.x) against the real xdr-emulator binary.
//
// Secret and certificate credentials (PS256 + x5t#S256, RS256 + x5t, with and without x5c), the
// authority per request by tenant GUID and by domain, the documented errors and a masked request
// log. An independent validator (jose: createRemoteJWKSet + jwtVerify) checks every issued token
// against the emulator's published JWKS, before and after a signing-key rotation.
//
// Usage: node msal_node_test.mjs path/to/xdr-emulator   (or set XDR_EMULATOR)
// Exit 0 when every check passes, 1 when any fails, 125 (skipped) when node_modules is missing.
//
// Node reads NODE_EXTRA_CA_CERTS once at start, and the emulator's CA exists only after it has
// started: this process starts the emulator, then runs the checks in a child process whose
// NODE_EXTRA_CA_CERTS is the emulator's CA.

import { execFileSync, spawn } from "node:child_process";
import { X509Certificate, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const XDR_RESOURCE = "https://api.security.microsoft.com";
const GRAPH_RESOURCE = "https://graph.microsoft.com";
const SECRET_ENV = "XDR_COMPAT_CLIENT_SECRET";
const CHILD_ENV = "XDR_COMPAT_NODE_CONFIG";
const READY_TIMEOUT_MS = 15000;
const CHILD_TIMEOUT_MS = 25000;
const EXIT_SKIP = 125;

const here = path.dirname(fileURLToPath(import.meta.url));

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A fresh RSA-2048 key and self-signed certificate made by openssl in `dir`.
function makeCertificate(dir, name) {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath,
    "-days", "2", "-subj", `/CN=${name}`], { stdio: ["ignore", "ignore", "pipe"] });
  const certPem = fs.readFileSync(certPath, "utf8");
  const x509 = new X509Certificate(certPem);
  return {
    certPath,
    certPem,
    keyPem: fs.readFileSync(keyPath, "utf8"),
    sha1: x509.fingerprint.replaceAll(":", ""),
    sha256: x509.fingerprint256.replaceAll(":", ""),
  };
}

async function parent() {
  const binary = process.argv[2] || process.env.XDR_EMULATOR || "";
  for (const mod of ["@azure/msal-node", "jose"]) {
    if (!fs.existsSync(path.join(here, "node_modules", mod, "package.json"))) {
      console.log(`SKIP: ${mod} is not installed in tests/compat/node_modules; run scripts/install-deps`);
      return EXIT_SKIP;
    }
  }
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    console.error("usage: node msal_node_test.mjs path/to/xdr-emulator (or set XDR_EMULATOR)");
    return 2;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "xdr-compat-node-"));
  let emulator;
  try {
    const clientId = randomUUID();
    const clientSecret = randomBytes(30).toString("base64url") + "~._-";
    const cert = makeCertificate(work, "client-cert");
    const other = makeCertificate(work, "unregistered");
    const allRoles = ["Incident.Read.All", "AdvancedHunting.Read.All"];
    const tenants = [0, 1, 2, 3].map((i) => ({
      tenant_id: randomUUID(),
      domain: `n${i}-${randomBytes(3).toString("hex")}.onmicrosoft.com`,
      display_name: `Compat Node Tenant ${i}`,
    }));
    tenants[0].consents = [
      { client_id: clientId, resource: XDR_RESOURCE, roles: allRoles },
      { client_id: clientId, resource: GRAPH_RESOURCE, roles: ["SecurityIncident.Read.All"] },
    ];
    tenants[1].consents = [{ client_id: clientId, resource: XDR_RESOURCE, roles: ["Incident.Read.All"] }];
    tenants[2].consents = [{ client_id: clientId, resource: XDR_RESOURCE, roles: allRoles }];
    tenants[3].consents = []; // not consented
    const scenario = {
      seed: randomBytes(3).readUIntBE(0, 3),
      apps: [{
        client_id: clientId,
        display_name: "Compat msal-node",
        secrets: [{ value_env: SECRET_ENV, expires: "2099-01-01T00:00:00Z" }],
        certificates: [{ pem: cert.certPath }],
        required_roles: { xdr: allRoles },
      }],
      tenants,
    };
    const scenarioPath = path.join(work, "scenario.json");
    fs.writeFileSync(scenarioPath, JSON.stringify(scenario));
    const stateDir = path.join(work, "state");
    fs.mkdirSync(stateDir);
    const readyPath = path.join(stateDir, "ready.json");
    const logPath = path.join(work, "emulator.log");
    const logFd = fs.openSync(logPath, "w");
    emulator = spawn(binary, ["--listen", "127.0.0.1:0", "--state-dir", stateDir, "--ready-file", readyPath,
      "--config", scenarioPath], { stdio: ["ignore", logFd, logFd], env: { ...process.env, [SECRET_ENV]: clientSecret } });
    const emulatorOutput = () => fs.readFileSync(logPath, "utf8");
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!fs.existsSync(readyPath)) {
      if (emulator.exitCode !== null || Date.now() > deadline) {
        console.error(`xdr-emulator did not become ready; its output:\n${emulatorOutput()}`);
        return 1;
      }
      await sleep(50);
    }
    const ready = JSON.parse(fs.readFileSync(readyPath, "utf8"));
    const config = {
      url: ready.url,
      clientId,
      clientSecret,
      cert: { keyPem: cert.keyPem, certPem: cert.certPem, sha1: cert.sha1, sha256: cert.sha256 },
      other: { keyPem: other.keyPem, sha1: other.sha1, sha256: other.sha256 },
      consented: tenants.slice(0, 3).map((t) => ({ tenant_id: t.tenant_id, domain: t.domain, roles: t.consents[0].roles })),
      unconsented: { tenant_id: tenants[3].tenant_id, domain: tenants[3].domain },
    };
    const configPath = path.join(work, "child-config.json");
    fs.writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: "inherit",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ready.ca_file, [CHILD_ENV]: configPath },
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    const code = await new Promise((resolve) => child.on("exit", (c, sig) => resolve(sig ? `signal ${sig}` : c)));
    clearTimeout(timer);
    if (code !== 0) {
      console.log(`checks exited with ${code}\n--- emulator output ---\n${emulatorOutput().slice(-4000)}`);
      return 1;
    }
    return 0;
  } finally {
    if (emulator && emulator.exitCode === null) {
      emulator.kill("SIGTERM");
      await new Promise((resolve) => {
        const t = setTimeout(() => { emulator.kill("SIGKILL"); resolve(); }, 10000);
        emulator.on("exit", () => { clearTimeout(t); resolve(); });
      });
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function child(configPath) {
  const { ConfidentialClientApplication } = await import("@azure/msal-node");
  const jose = await import("jose");
  const cfg = JSON.parse(fs.readFileSync(configPath, "utf8"));
  const host = new URL(cfg.url).host;
  const scopes = [`${XDR_RESOURCE}/.default`];
  const issued = []; // { token, tid, aud }
  const started = Date.now();
  let passed = 0;
  const failed = [];

  async function check(name, fn) {
    try {
      await fn();
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed.push(name);
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }

  function app(auth) {
    return new ConfidentialClientApplication({
      auth: { clientId: cfg.clientId, authority: `${cfg.url}/${cfg.consented[0].tenant_id}`, knownAuthorities: [host], ...auth },
    });
  }
  const secretApp = app({ clientSecret: cfg.clientSecret });
  const ps256App = app({ clientCertificate: { thumbprintSha256: cfg.cert.sha256, privateKey: cfg.cert.keyPem } });
  const rs256App = app({ clientCertificate: { thumbprint: cfg.cert.sha1, privateKey: cfg.cert.keyPem } });
  const x5cApp = app({
    clientCertificate: { thumbprintSha256: cfg.cert.sha256, privateKey: cfg.cert.keyPem, x5c: cfg.cert.certPem },
  });

  // One remote JWKS per tenant and endpoint, as a resource server keeps it. cooldownDuration 0 lets
  // jose refetch at once when a token carries an unknown kid (after a rotation).
  const keySets = new Map();
  function jwks(tid, v2 = false) {
    const url = `${cfg.url}/${tid}/discovery/${v2 ? "v2.0/" : ""}keys`;
    if (!keySets.has(url)) keySets.set(url, jose.createRemoteJWKSet(new URL(url), { cooldownDuration: 0 }));
    return keySets.get(url);
  }

  async function verify(token, tid, aud, expect = {}, keySet = jwks(tid)) {
    const { payload, protectedHeader } = await jose.jwtVerify(token, keySet, {
      algorithms: ["RS256"],
      issuer: `https://sts.windows.net/${tid}/`,
      audience: aud,
      requiredClaims: ["exp", "iat", "nbf", "tid", "appid", "oid", "sub"],
    });
    assert(payload.tid === tid, `tid ${payload.tid} != ${tid}`);
    assert(payload.ver === "1.0", `ver ${payload.ver}`);
    assert(payload.oid === payload.sub, "oid != sub for an app-only token");
    assert(payload.appid === cfg.clientId, `appid ${payload.appid}`);
    if (expect.appidacr) assert(payload.appidacr === expect.appidacr, `appidacr ${payload.appidacr}, want ${expect.appidacr}`);
    if (expect.roles) {
      const got = [...(payload.roles || [])].sort().join(",");
      assert(got === [...expect.roles].sort().join(","), `roles ${got}, want ${expect.roles}`);
    }
    return { payload, protectedHeader };
  }

  async function token(client, segment, extra = {}) {
    const result = await client.acquireTokenByClientCredential({ scopes, authority: `${cfg.url}/${segment}`, ...extra });
    assert(result && result.accessToken, "no access token in the result");
    assert(result.tokenType === "Bearer", `tokenType ${result.tokenType}`);
    return result;
  }

  async function expectError(promise, errorCode, aadsts) {
    let error;
    try {
      await promise;
    } catch (e) {
      error = e;
    }
    assert(error, `expected ${errorCode}/AADSTS${aadsts}, got a token`);
    assert(error.errorCode === errorCode, `errorCode ${error.errorCode}, want ${errorCode}: ${error.errorMessage}`);
    assert(String(error.errorMessage).includes(`AADSTS${aadsts}:`), `errorMessage lacks AADSTS${aadsts}: ${error.errorMessage}`);
  }

  async function control(method, p, body) {
    const r = await fetch(cfg.url + p, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    assert(r.status < 300, `${method} ${p} -> ${r.status} ${text}`);
    return JSON.parse(text);
  }

  async function tokensPerTenant(client, appidacr) {
    for (const t of cfg.consented) {
      for (const segment of [t.tenant_id, t.domain]) {
        // skipCache: the GUID and the domain share one cache entry; both must reach the token endpoint.
        const r = await token(client, segment, { skipCache: true });
        assert(!r.fromCache, "a skipCache request came from the cache");
        await verify(r.accessToken, t.tenant_id, XDR_RESOURCE, { appidacr, roles: t.roles });
        issued.push({ token: r.accessToken, tid: t.tenant_id, aud: XDR_RESOURCE });
      }
    }
  }

  await check("secret: token per consented tenant, per-request authority by GUID and by domain", () =>
    tokensPerTenant(secretApp, "1"));

  await check("secret: token for a second resource (Graph)", async () => {
    const t = cfg.consented[0];
    const r = await secretApp.acquireTokenByClientCredential({ scopes: [`${GRAPH_RESOURCE}/.default`], authority: `${cfg.url}/${t.domain}` });
    await verify(r.accessToken, t.tenant_id, GRAPH_RESOURCE, { appidacr: "1", roles: ["SecurityIncident.Read.All"] });
    issued.push({ token: r.accessToken, tid: t.tenant_id, aud: GRAPH_RESOURCE });
  });

  await check("secret: a second request is answered from msal-node's cache", async () => {
    const t = cfg.consented[2];
    const first = await token(secretApp, t.tenant_id);
    const second = await token(secretApp, t.tenant_id);
    assert(second.fromCache, "second token not from cache");
    assert(second.accessToken === first.accessToken, "cached token differs");
    assert(second.expiresOn && second.expiresOn.getTime() > Date.now() + 50 * 60 * 1000, `expiresOn ${second.expiresOn}`);
  });

  await check("certificate PS256+x5t#S256: token per tenant, by GUID and by domain", () => tokensPerTenant(ps256App, "2"));
  await check("certificate RS256+x5t (SHA-1 thumbprint): token per tenant, by GUID and by domain", () =>
    tokensPerTenant(rs256App, "2"));
  await check("certificate PS256+x5t#S256+x5c: token per tenant, by GUID and by domain", () => tokensPerTenant(x5cApp, "2"));

  await check("certificate: second network request from the same app (msal-node reuses its assertion)", async () => {
    // ClientAssertion.getJwt returns the same signed JWT (same jti) until it expires, for the same
    // issuer and audience; Entra ID accepts it again.
    const t = cfg.consented[1];
    const client = app({ clientCertificate: { thumbprintSha256: cfg.cert.sha256, privateKey: cfg.cert.keyPem } });
    for (let i = 0; i < 2; i++) {
      const r = await token(client, t.tenant_id, { skipCache: true });
      await verify(r.accessToken, t.tenant_id, XDR_RESOURCE, { appidacr: "2" });
      issued.push({ token: r.accessToken, tid: t.tenant_id, aud: XDR_RESOURCE });
    }
  });

  await check("wrong secret -> invalid_client AADSTS7000215", async () => {
    const wrong = app({ clientSecret: cfg.clientSecret.slice(0, -4) + "XXXX" });
    await expectError(token(wrong, cfg.consented[0].tenant_id), "invalid_client", 7000215);
    await expectError(token(wrong, cfg.consented[1].domain), "invalid_client", 7000215);
  });

  await check("unregistered certificate -> invalid_client AADSTS700027", async () => {
    const wrong = app({ clientCertificate: { thumbprintSha256: cfg.other.sha256, privateKey: cfg.other.keyPem } });
    await expectError(token(wrong, cfg.consented[0].tenant_id), "invalid_client", 700027);
  });

  await check("tenant without consent -> unauthorized_client AADSTS700016", async () => {
    for (const segment of [cfg.unconsented.tenant_id, cfg.unconsented.domain]) {
      await expectError(token(secretApp, segment), "unauthorized_client", 700016);
      await expectError(token(ps256App, segment), "unauthorized_client", 700016);
    }
  });

  await check("request log masks the secret and assertions", async () => {
    const log = (await control("GET", "/_emulator/requests")).requests;
    const posts = log.filter((e) => e.method === "POST" && e.path.includes("/oauth2/"));
    const withSecret = posts.filter((e) => e.form && "client_secret" in e.form);
    const withAssertion = posts.filter((e) => e.form && "client_assertion" in e.form);
    assert(withSecret.length && withAssertion.length, "the log lacks secret or assertion requests");
    for (const e of withSecret) assert(e.form.client_secret === "***", `client_secret not masked in ${e.path}`);
    for (const e of withAssertion) assert(e.form.client_assertion === "***", `client_assertion not masked in ${e.path}`);
    const text = JSON.stringify(log);
    assert(!text.includes(cfg.clientSecret), "the client secret appears in the request log");
    assert(!text.includes(encodeURIComponent(cfg.clientSecret)), "the URL-encoded secret appears in the request log");
    for (const i of issued) assert(!text.includes(i.token.split(".")[2]), "an issued token appears in the request log");
  });

  await check("tampered token fails verification", async () => {
    assert(issued.length, "no token was issued");
    const { token: tok, tid, aud } = issued[0];
    const [h, p, s] = tok.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    claims.roles = ["Incident.ReadWrite.All"];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    let error;
    try {
      await verify(forged, tid, aud);
    } catch (e) {
      error = e;
    }
    assert(error && error.code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", `forged token: ${error ? error.code : "verified"}`);
  });

  await check("key rotation: new kid, old and new tokens verify, dropped key stops verifying", async () => {
    const t = cfg.consented[1];
    const old = await token(secretApp, t.tenant_id, { skipCache: true });
    const oldKid = jose.decodeProtectedHeader(old.accessToken).kid;
    await verify(old.accessToken, t.tenant_id, XDR_RESOURCE); // the key set now holds the old JWKS
    const rotated = await control("POST", "/_emulator/keys/rotate", { drop_old: false });
    assert(rotated.previous_kid === oldKid, `previous_kid ${rotated.previous_kid} != ${oldKid}`);
    assert(rotated.signing_kid !== oldKid && rotated.keys.includes(oldKid), `rotation result ${JSON.stringify(rotated)}`);
    const fresh = await token(secretApp, t.tenant_id, { skipCache: true });
    assert(jose.decodeProtectedHeader(fresh.accessToken).kid === rotated.signing_kid, "token after rotation not signed by the new key");
    const certFresh = await token(ps256App, t.domain, { skipCache: true });
    assert(jose.decodeProtectedHeader(certFresh.accessToken).kid === rotated.signing_kid, "certificate token not signed by the new key");
    issued.push({ token: fresh.accessToken, tid: t.tenant_id, aud: XDR_RESOURCE });
    issued.push({ token: certFresh.accessToken, tid: t.tenant_id, aud: XDR_RESOURCE });
    // The cached key set meets an unknown kid and refetches; v2 keys serve the same keys.
    for (const tok of [old.accessToken, fresh.accessToken, certFresh.accessToken]) {
      await verify(tok, t.tenant_id, XDR_RESOURCE);
      await verify(tok, t.tenant_id, XDR_RESOURCE, {}, jwks(t.tenant_id, true));
    }
    // Every token issued in this run verifies while its key is published.
    for (const i of issued) await verify(i.token, i.tid, i.aud);
    await control("POST", "/_emulator/keys/rotate", { drop_old: true });
    const freshSet = jose.createRemoteJWKSet(new URL(`${cfg.url}/${t.tenant_id}/discovery/keys`));
    let error;
    try {
      await verify(old.accessToken, t.tenant_id, XDR_RESOURCE, {}, freshSet);
    } catch (e) {
      error = e;
    }
    assert(error && error.code === "ERR_JWKS_NO_MATCHING_KEY", `token of a dropped key: ${error ? error.code : "verified"}`);
    const newest = await token(secretApp, t.tenant_id, { skipCache: true });
    await verify(newest.accessToken, t.tenant_id, XDR_RESOURCE, { appidacr: "1" });
  });

  console.log(`${passed} passed, ${failed.length} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failed.length ? 1 : 0;
}

const configPath = process.env[CHILD_ENV];
process.exitCode = configPath ? await child(configPath) : await parent();
