"""ECR's pull-through cache of Docker Hub (why and how the images use it: herd_cfn/templates/docker_hub.py).

- the rule: repositories under ``herd/docker-hub/`` in this account's ECR mirror Docker Hub, which ECR
  logs in to with the secret ``data.docker_hub_cache_secret_arn`` names (a Docker Hub access token);
- the repository creation template: the settings of each repository ECR creates under that prefix on the
  first pull of an image (encrypted, tags ECR may move, old images expire).

Both exist only with the secret (Condition ``DockerHubCacheEnabled``); without it the tasks and the build
pull from Docker Hub itself. Neither holds state: the cached repositories are ECR's, not this stack's,
and a deleted rule leaves them in place (delete them with ``aws ecr delete-repository --force``).

AWS: AWS::ECR::PullThroughCacheRule and AWS::ECR::RepositoryCreationTemplate (resource references);
"Templates to control repositories created during a pull through cache, create on push, or replication
action": without a CustomRoleArn ECR creates the repositories with its service-linked role
(ECRTemplateServiceRolePolicy: ecr:CreateRepository), which is enough while the template uses neither a
KMS key nor resource tags; those two need a custom role.
"""

from __future__ import annotations

import json

from troposphere import Ref, Template, ecr

from herd_cfn import names
from herd_cfn.templates import docker_hub
from herd_cfn.templates.helpers import given

D = names.Data
# A cached repository holds the versions that were pulled (tags are pinned, so one per upgrade); the
# newest few cover a rollback. An expired image is only fetched from Docker Hub again on its next pull.
CACHED_IMAGES_TO_KEEP = 5


def lifecycle_rules(keep: object, kept: str, always_kept_tag: str | None = None) -> dict:
    """ECR lifecycle rules of every repository here: untagged images go after a day, and beyond the newest
    ``keep`` images (``kept`` says which those are) the oldest go; an ``always_kept_tag`` (one image, moved by
    each build) is never expired."""
    rules = []
    if always_kept_tag:
        rules.append({"description": f"Keep the one image tagged {always_kept_tag}",
                      "selection": {"tagStatus": "tagged", "tagPatternList": [always_kept_tag],
                                    "countType": "imageCountMoreThan", "countNumber": 1},
                      "action": {"type": "expire"}})
    rules.append({"description": "Expire untagged images a day after push",
                  "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                                "countNumber": 1},
                  "action": {"type": "expire"}})
    # ECR requires the "any" rule to have the highest priority number.
    rules.append({"description": kept,
                  "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                  "action": {"type": "expire"}})
    return {"rules": [{"rulePriority": priority, **rule} for priority, rule in enumerate(rules, 1)]}


def build(t: Template) -> None:
    t.add_condition(D.HAS_DOCKER_HUB_CACHE, given(D.DOCKER_HUB_CACHE_LOGIN_ARN))
    t.add_resource(ecr.RepositoryCreationTemplate(
        D.DOCKER_HUB_CACHE_REPOSITORIES, Condition=D.HAS_DOCKER_HUB_CACHE,
        Prefix=docker_hub.PREFIX, AppliedFor=["PULL_THROUGH_CACHE"],
        Description="herd: repositories of Docker Hub images cached by ECR",
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="AES256"),
        # ECR checks a cached tag against Docker Hub (at most once in 24 hours) and moves it when upstream did.
        ImageTagMutability="MUTABLE",
        LifecyclePolicy=json.dumps(lifecycle_rules(CACHED_IMAGES_TO_KEEP, "Keep the newest cached images"),
                                   separators=(",", ":"), sort_keys=True),
    ))
    t.add_resource(ecr.PullThroughCacheRule(
        # The template first: it applies only to repositories created after it.
        D.DOCKER_HUB_CACHE_RULE, Condition=D.HAS_DOCKER_HUB_CACHE, DependsOn=[D.DOCKER_HUB_CACHE_REPOSITORIES],
        EcrRepositoryPrefix=docker_hub.PREFIX, UpstreamRegistry=docker_hub.UPSTREAM_REGISTRY,
        UpstreamRegistryUrl=docker_hub.UPSTREAM_URL, CredentialArn=Ref(D.DOCKER_HUB_CACHE_LOGIN_ARN),
    ))
