#!/usr/bin/python3
"""Independent implementation check for xdr::validate: PyJWT + cryptography sign an Entra-shaped
access token (RS256, kid/x5t) with a fresh RSA key and print {"token", "jwk"} as JSON.

usage: validate_pyjwt_token.py TENANT AUDIENCE APP_ID NOW_UNIX KID
Exit status 3 when PyJWT or cryptography is missing (the C++ test then skips).
"""
import json
import sys

try:
    import jwt
    from jwt.algorithms import RSAAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError as error:  # pragma: no cover - depends on the machine
    print(f"missing module: {error}", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    tenant, audience, app_id, now, kid = sys.argv[1:6]
    now = int(now)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public_jwk.update({"kid": kid, "x5t": kid, "use": "sig"})
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 300,
        "nbf": now - 300,
        "exp": now + 3600,
        "appid": app_id,
        "appidacr": "2",
        "idp": f"https://sts.windows.net/{tenant}/",
        "idtyp": "app",
        "oid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "roles": ["Incident.Read.All", "AdvancedHunting.Read.All"],
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "tid": tenant,
        "uti": "41oex9rUzU28oibY_D0hAA",
        "ver": "1.0",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "x5t": kid, "typ": "JWT"})
    print(json.dumps({"token": token, "jwk": public_jwk}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
