"""The environment a test process gives the programs it runs against the
emulators that tests/services/start.sh started: their endpoints (from
STATE_DIR/endpoints.env, through the signature checker, or direct.env, the
emulators themselves), the test credentials (credentials.env: s3rver's access
key id, a distinctive secret key and session token), a region, and nothing
from the developer's own AWS setup."""
import os

# What a developer's shell may hold that must not reach a test.
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")


def test_credentials():
    """{AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN} of credentials.env."""
    out = {}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "credentials.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k and not k.startswith("#"):
                out[k] = v
    return out


CREDENTIALS = test_credentials()


def emulator_env(state, direct=False, unset=()):
    """os.environ plus the emulators' settings, minus UNSET and `unset`."""
    e = dict(os.environ)
    with open(os.path.join(state, "direct.env" if direct else "endpoints.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                e[k] = v
    e.update(CREDENTIALS)
    e.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
              "AWS_EC2_METADATA_DISABLED": "true",
              "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"})
    for k in UNSET + tuple(unset):
        e.pop(k, None)
    return e
