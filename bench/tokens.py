"""Pier benchmark: bearer tokens (auth.token). A signer made with the openssl CLI (a self-signed P-256
certificate, the registries' rootcertbundle), an ES256 token naming its key by the libtrust key id that both
Pier and Distribution 2.8 look up, and the auth section both read. Python's standard library has no ECDSA:
openssl signs, and the DER signature is turned into the JWS form (r || s) here."""

import base64
import hashlib
import json
import subprocess
import time

from clients import Client
from procs import MANIFEST_ACCEPT, BenchError, make_certificate

SERVICE = "pier-bench"
ISSUER = "pier-bench-issuer"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_der):
    """libtrust's key id: the first 240 bits of SHA-256 of the DER public key, base32, in groups of 4."""
    text = base64.b32encode(hashlib.sha256(public_der).digest()[:30]).decode()
    return ":".join(text[i:i + 4] for i in range(0, len(text), 4))


def der_signature_to_jws(der, size=32):
    """ECDSA-Sig-Value (SEQUENCE of INTEGER r, INTEGER s) as r || s, each `size` bytes."""
    if der[0] != 0x30:
        raise BenchError("openssl's ECDSA signature is not a DER SEQUENCE")
    at = 3 if der[1] == 0x81 else 2
    out = b""
    for _ in range(2):
        if der[at] != 0x02:
            raise BenchError("openssl's ECDSA signature holds no INTEGER")
        length = der[at + 1]
        value = der[at + 2:at + 2 + length].lstrip(b"\0")
        out += value.rjust(size, b"\0")
        at += 2 + length
    return out


class TokenSigner:
    def __init__(self, base):
        d = base / "token-signer"
        d.mkdir()
        self.certificate, self.key = make_certificate(d)
        public = subprocess.run(["openssl", "pkey", "-in", str(self.key), "-pubout", "-outform", "DER"],
                                check=True, capture_output=True, timeout=60).stdout
        self.kid = libtrust_key_id(public)

    def auth_config(self):
        """The auth section (top-level YAML) of a registry that takes this signer's tokens."""
        return (f"auth:\n  token:\n    realm: https://127.0.0.1/token\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.certificate}\n")

    def token(self, repository, actions=("pull",), lifetime_s=3600):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "kid": self.kid}
        claims = {"iss": ISSUER, "sub": "bench", "aud": SERVICE, "exp": now + lifetime_s, "nbf": now - 10,
                  "iat": now - 10, "jti": f"bench-{time.time_ns()}",
                  "access": [{"type": "repository", "name": repository, "actions": list(actions)}]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input.encode(),
                             check=True, capture_output=True, timeout=60).stdout
        return signing_input + "." + b64url(der_signature_to_jws(der))


def verify_token_auth(reg, path, body, token):
    """The registry refuses the path without the token and serves `body` with it."""
    c = Client(reg.port)
    try:
        r = c.request("GET", path, headers={"Accept": MANIFEST_ACCEPT})
        if r.status != 401 or "Bearer" not in (r.header("WWW-Authenticate") or ""):
            raise BenchError(f"{reg.label} answered without a token what needs one\n" + r.describe())
        r = c.request("GET", path, headers={"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {token}"})
        if r.status != 200 or r.body != body:
            raise BenchError(f"{reg.label} did not serve the manifest for the bench token\n" + r.describe())
    finally:
        c.close()
