"""The environment a test process gives the programs it runs against the
emulators that tests/services/start.sh started: their endpoints (from
STATE_DIR/endpoints.env, through the signature checker, or direct.env, the
emulators themselves), s3rver's key pair (kinesalite and dynalite take any),
a region, and nothing from the developer's own AWS setup."""
import os

# What a developer's shell may hold that must not reach a test.
UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")


def emulator_env(state, direct=False, unset=()):
    """os.environ plus the emulators' settings, minus UNSET and `unset`."""
    e = dict(os.environ)
    with open(os.path.join(state, "direct.env" if direct else "endpoints.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                e[k] = v
    e.update({"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
              "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
              "AWS_EC2_METADATA_DISABLED": "true",
              "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"})
    for k in UNSET + tuple(unset):
        e.pop(k, None)
    return e
