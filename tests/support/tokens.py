"""Pulsar's token authentication with a secret key, from the client's side: an HS256 JSON Web
Token for a subject, signed with the raw key bytes (what `pulsar tokens create --secret-key`
makes), for the suites that start a broker or `shfn run` with --token-secret-file."""
import base64
import hashlib
import hmac
import json
import os


def hs256_token(key, subject):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    unsigned = b64(b'{"alg":"HS256"}') + "." + b64(json.dumps({"sub": subject}).encode())
    return unsigned + "." + b64(hmac.new(key, unsigned.encode(), hashlib.sha256).digest())


def new_secret(directory, subject):
    """A fresh random key in DIRECTORY/secret.key (for --token-secret-file) and a token it
    signs for `subject`: (the key file's path, the token)."""
    path = os.path.join(directory, "secret.key")
    key = os.urandom(32)
    with open(path, "wb") as f:
        f.write(key)
    return path, hs256_token(key, subject)
