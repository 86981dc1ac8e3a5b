"""Where the Docker Hub images of the tasks and of the build come from: Docker Hub, or ECR's pull-through
cache of it in the environment's own account.

Docker Hub limits anonymous pulls by IP address (10 an hour: dev's tasks share one NAT address, builds
share CodeBuild's hosts), and a task that restarts pulls again. With ``data.docker_hub_cache_secret_arn``
set, the data stack makes a pull-through cache rule for Docker Hub (stacks/data/pull_cache.py), and every
Docker Hub image is named ``<account>.dkr.ecr.<region>.amazonaws.com/herd/docker-hub/<path>:<tag>``
instead: the first pull makes ECR fetch it from Docker Hub with that login and keep it, later pulls are
served by ECR. Images of other registries (ECR Public, ghcr.io…) keep their names.

Fallback, without the secret: no rule (the data stack's Condition leaves it out), the images keep their
Docker Hub names, the execution and build roles get no cache permissions, and the build prints a warning
per environment. ``herd-cfn doctor`` says the same.

The references are made here, at build time, from each environment's account and region: the parameter
files show exactly what each task pulls, and an image of another registry is never rewritten by mistake.

AWS: "Pulling an image with a pull through cache rule in Amazon ECR" (Docker Hub official images need the
``library/`` path); "IAM permissions required to sync an upstream registry with an Amazon ECR private
registry" (a first pull needs ecr:BatchImportUpstreamImage and, while the repository does not exist yet,
ecr:CreateRepository); CreatePullThroughCacheRule (Docker Hub's upstreamRegistryUrl is registry-1.docker.io).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from troposphere import Equals, Not, Ref, Sub, Template

from herd_cfn import names
from herd_cfn.fields import dns_suffix
from herd_cfn.templates.base import Input

if TYPE_CHECKING:
    from herd_cfn.config.environments import Environment

PREFIX = names.Data.DOCKER_HUB_CACHE_PREFIX
DIRECT = "docker.io"  # the mirror value without the cache: Docker Hub itself
UPSTREAM_REGISTRY = "docker-hub"
UPSTREAM_URL = "registry-1.docker.io"
SECRET_NAME_PREFIX = "ecr-pullthroughcache/"  # ECR takes no other secret for a rule's credentials
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
MIRROR_PATTERN = rf"^docker\.io$|^\d{{12}}\.dkr\.ecr\.[a-z0-9.-]+/{PREFIX}$"

# What a pull through the cache needs besides ecr:GetAuthorizationToken, on the cached repositories only.
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
FIRST_PULL_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")


def enabled(env: Environment) -> bool:
    return bool(env.data.docker_hub_cache_secret_arn)


def mirror(env: Environment) -> str:
    """``docker.io``, or the cache's registry and prefix in the environment's account and region."""
    if not enabled(env):
        return DIRECT
    return f"{env.account_id}.dkr.ecr.{env.region}.{dns_suffix(env.region)}/{PREFIX}"


def docker_hub_path(reference: str) -> str | None:
    """The image's path on Docker Hub (``library/`` added to an official image), None for another registry.

    Docker's own reading of a reference: a first component with '.' or ':' or ``localhost`` is a registry."""
    first, slash, rest = reference.partition("/")
    if slash and (first in _DOCKER_HUB_HOSTS):
        reference = rest
    elif slash and ("." in first or ":" in first or first == "localhost"):
        return None
    return reference if "/" in reference else f"library/{reference}"


def image(env: Environment, reference: str) -> str:
    """What a task pulls for ``reference``: through the cache when it is on and the image is on Docker Hub."""
    path = docker_hub_path(reference)
    if not enabled(env) or path is None:
        return reference
    return f"{mirror(env)}/{path}"


def mirror_input() -> Input:
    return Input(names.DOCKER_HUB_MIRROR, "docker.io, or ECR's cache of Docker Hub in this account", mirror,
                 allowed_pattern=MIRROR_PATTERN)


def add_condition(t: Template) -> None:
    """``UsesDockerHubCache``: the mirror is the cache (conditions cannot read the data stack's exports)."""
    t.add_condition(names.USES_DOCKER_HUB_CACHE, Not(Equals(Ref(names.DOCKER_HUB_MIRROR), DIRECT)))


def cached_repositories() -> Sub:
    """Every repository ECR creates for the cache: ``repository/herd/docker-hub/*`` of this account."""
    return Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/" + PREFIX + "/*")
