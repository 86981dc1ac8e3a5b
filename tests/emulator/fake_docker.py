"""A recording stand-in for the ``docker`` CLI of CodeBuild, for running buildspec.yml against the emulator.

It does what the buildspec relies on and checks what real docker would refuse: ``login`` needs a password on
stdin; ``build`` needs the Dockerfile and the context, and makes an image (a config naming the build args, one
layer: the Dockerfile's bytes); ``push`` needs an image built with that tag and a login to its registry, and puts
the image's manifest (Docker image manifest v2, schema 2) into the emulator's ECR with ``ecr:PutImage``. Real
docker pushes through the registry API instead; ECR then holds the same: the tag and the manifest's digest.
``buildx create`` makes a builder; ``buildx build`` builds as ``build`` does (``--file -``: the Dockerfile on
stdin), refuses ``--cache-to type=registry`` without a builder of the docker-container driver (the engine's own
builder cannot export a cache), and with ``--push`` pushes each tag and the registry cache (its own manifest
under the cache reference's tag), each needing a login to its registry.
It runs no container and reaches nothing but the emulator: a push without ``AWS_ENDPOINT_URL`` on 127.0.0.1 fails.

Every call is appended to ``$DOCKER_LOG`` (its arguments; a password never); state (logins, images) lives in
``$FAKE_DOCKER_STATE``. :func:`install` writes the ``docker`` executable that runs this file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ECR_REGISTRY = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


def install(bin_dir: Path) -> Path:
    """``bin_dir/docker``, which runs this module with the current interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    docker.chmod(0o755)
    return docker


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class State:
    def __init__(self, directory: Path) -> None:
        self.file = directory / "state.json"
        self.data = json.loads(self.file.read_text()) if self.file.exists() else {"logins": {}, "images": {}}

    def save(self) -> None:
        self.file.write_text(json.dumps(self.data, indent=1))


_FLAGS = {"password-stdin", "push", "load", "use", "bootstrap"}


def _options(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """``--name value`` and ``--name=value`` options (repeatable), flags, and the positional arguments."""
    options: dict[str, list[str]] = {}
    positional, i = [], 0
    while i < len(args):
        if args[i].startswith("--"):
            name, equals, value = args[i][2:].partition("=")
            if equals:
                options.setdefault(name, []).append(value)
                i += 1
            elif name in _FLAGS:
                options[name] = []
                i += 1
            else:
                options.setdefault(name, []).append(args[i + 1])
                i += 2
        else:
            positional.append(args[i])
            i += 1
    return options, positional


def login(state: State, args: list[str]) -> int:
    options, positional = _options(args)
    password = sys.stdin.read() if "password-stdin" in options else ""
    if not password.strip():
        print("Error: Cannot perform an interactive login from a non TTY device", file=sys.stderr)
        return 1
    registry = positional[0] if positional else "docker.io"
    state.data["logins"][registry] = options["username"][0]
    print("Login Succeeded")
    return 0


def _image(dockerfile: bytes, build_args: list[str]) -> dict:
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": dict(a.split("=", 1) for a in build_args)},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(dockerfile)]}}, sort_keys=True).encode()
    return {"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": _digest(config)},
            "layers": [{"mediaType": LAYER_TYPE, "size": len(dockerfile), "digest": _digest(dockerfile)}]}


def _read_dockerfile(options: dict[str, list[str]], positional: list[str]) -> bytes | None:
    name = options.get("file", ["Dockerfile"])[0]
    if len(positional) != 1 or not Path(positional[0]).is_dir():
        print(f"ERROR: \"docker buildx build\" requires exactly 1 argument (a context directory), got {positional}",
              file=sys.stderr)
        return None
    if name == "-":
        return sys.stdin.read().encode()
    if not Path(name).is_file():
        print(f"ERROR: failed to read dockerfile: open {name}: no such file or directory", file=sys.stderr)
        return None
    return Path(name).read_bytes()


def build(state: State, args: list[str]) -> int:
    options, positional = _options(args)
    dockerfile = _read_dockerfile(options, positional)
    if dockerfile is None:
        return 1
    manifest = _image(dockerfile, options.get("build-arg", []))
    for tag in options.get("tag", []):
        state.data["images"][tag] = manifest
    return 0


def buildx(state: State, args: list[str]) -> int:
    if args[:1] == ["create"]:
        options, _ = _options(args[1:])
        state.data["builder"] = {"name": options["name"][0], "driver": options.get("driver", ["docker"])[0]}
        return 0
    if args[:1] != ["build"]:
        print(f"fake docker: unsupported buildx command {args[:1]}", file=sys.stderr)
        return 1
    options, _ = _options(args[1:])
    caches = [dict(item.split("=", 1) for item in value.split(",")) for value in options.get("cache-to", [])]
    if caches and state.data.get("builder", {}).get("driver") != "docker-container":
        print("ERROR: Cache export is not supported for the docker driver.", file=sys.stderr)
        return 1
    if build(state, args[1:]) != 0:
        return 1
    if "push" not in options:
        return 0
    for tag in options.get("tag", []):
        if push(state, [tag]) != 0:
            return 1
    built = json.dumps(state.data["images"][options["tag"][0]], sort_keys=True).encode()
    for cache in caches:
        # The cache of this build (its layers), so each build's cache is a new manifest, as BuildKit's is.
        state.data["images"][cache["ref"]] = _image(b"cache of " + built, [])
        if push(state, [cache["ref"]]) != 0:
            return 1
    return 0


def push(state: State, args: list[str]) -> int:
    (reference,) = args
    manifest = state.data["images"].get(reference)
    if manifest is None:
        print(f"An image does not exist locally with the tag: {reference}", file=sys.stderr)
        return 1
    registry, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    if registry not in state.data["logins"]:
        print(f"{reference}: no basic auth credentials", file=sys.stderr)
        return 1
    ecr = ECR_REGISTRY.match(registry)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if ecr is None or not endpoint.startswith("http://127.0.0.1:"):
        print(f"fake docker: pushes only to ECR on the emulator (AWS_ENDPOINT_URL={endpoint!r})", file=sys.stderr)
        return 1
    import boto3

    body = json.dumps(manifest, indent=3)
    client = boto3.client("ecr", region_name=ecr["region"], endpoint_url=endpoint)
    image = client.put_image(registryId=ecr["account"], repositoryName=repository, imageManifest=body,
                             imageManifestMediaType=MANIFEST_TYPE, imageTag=tag)["image"]
    print(f"{tag}: digest: {image['imageId']['imageDigest']} size: {len(body)}")
    return 0


COMMANDS = {"login": login, "build": build, "buildx": buildx, "push": push}


def main(argv: list[str]) -> int:
    with open(os.environ["DOCKER_LOG"], "a") as log:
        log.write(" ".join(argv) + "\n")
    if not argv or argv[0] not in COMMANDS:
        print(f"fake docker: unsupported command {argv[:1]}", file=sys.stderr)
        return 1
    state = State(Path(os.environ["FAKE_DOCKER_STATE"]))
    status = COMMANDS[argv[0]](state, argv[1:])
    state.save()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
