"""Pulsar's token authentication with a secret key, from the client's side: an HS256 JSON Web
Token for a subject, signed with the raw key bytes (what `pulsar tokens create --secret-key`
makes), for the suites that start a broker or `shfn run` with --token-secret-file."""
import base64
import hashlib
import hmac
import json


def hs256_token(key, subject):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    unsigned = b64(b'{"alg":"HS256"}') + "." + b64(json.dumps({"sub": subject}).encode())
    return unsigned + "." + b64(hmac.new(key, unsigned.encode(), hashlib.sha256).digest())
