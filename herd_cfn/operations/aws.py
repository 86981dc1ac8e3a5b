"""Sessions for the accounts herd-cfn deploys to, and the translation of AWS client errors into one line.

Where credentials for an account come from, first match wins:

1. ``--account-profile ACCOUNT_OR_ENV=PROFILE``: a named profile for that account (or environment);
2. ``--role-name NAME``: assume ``arn:aws:iam::<account>:role/NAME`` from the base credentials
   (e.g. ``OrganizationAccountAccessRole``, or a role you created for deployments);
3. the base credentials (``--profile`` or the default chain) when they already act in that account.

Every session made here reports each API call to the listeners registered with :func:`recording`,
which is how the tests and the benchmark prove that a no-op rollout only reads.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.parsers
import botocore.session
from botocore.config import Config

from herd_cfn.errors import DeploymentError, HerdError, InputError
from herd_cfn.operations.waiting import Polling, Waiting, poll, wait_for

_listeners: list[Callable[[str, str], None]] = []
_listeners_lock = threading.Lock()

# Calls that change nothing in the account. AssumeRole only issues temporary credentials.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Validate", "Estimate", "Detect")
READ_ONLY_CALLS = frozenset({"AssumeRole"})


def is_read_only(operation: str) -> bool:
    return operation in READ_ONLY_CALLS or operation.startswith(READ_ONLY_PREFIXES)


@dataclass
class CallRecorder:
    """Every API call made while recording, as (service, operation)."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, service: str, operation: str) -> None:
        self.calls.append((service, operation))

    @property
    def mutating(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if not is_read_only(c[1])]

    def count(self, operation: str) -> int:
        return sum(1 for _, op in self.calls if op == operation)


@contextmanager
def recording() -> Iterator[CallRecorder]:
    recorder = CallRecorder()
    with _listeners_lock:
        _listeners.append(recorder)
    try:
        yield recorder
    finally:
        with _listeners_lock:
            _listeners.remove(recorder)


def _notify(model: Any = None, **_: Any) -> None:
    if model is None:
        return
    service = model.service_model.service_name
    for listener in list(_listeners):
        listener(service, model.name)


@lru_cache(maxsize=1)
def _shared_loader() -> Any:
    return botocore.loaders.create_loader()


@cache
def partition(region: str) -> str:
    session = botocore.session.Session()
    session.register_component("data_loader", _shared_loader())
    return boto3.session.Session(botocore_session=session).get_partition_for_region(region)


# CloudFormation's answers to too many calls at once: worth retrying later, unchanged.
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                              "RequestLimitExceeded"})


@dataclass(frozen=True)
class Retries:
    """How often and how long to retry: full jitter, i.e. a random wait up to base·2^attempt (at most cap)."""

    attempts: int = 8
    base: float = 0.5
    cap: float = 20.0


def retry(call: Callable[[], Any], codes: frozenset[str], retries: Retries, *,
          sleep: Callable[[float], None] = time.sleep, jitter: Callable[[float], float] | None = None) -> Any:
    """``call()``; a ClientError with one of ``codes`` is retried up to ``retries.attempts`` times in all.

    The jitter spreads the retries of many concurrent callers (50 accounts polled in one round) so they do
    not come back at the same moment and get throttled again.
    """
    jitter = jitter or (lambda ceiling: random.uniform(0, ceiling))
    for attempt in range(retries.attempts):
        try:
            return call()
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in codes or attempt == retries.attempts - 1:
                raise
            sleep(jitter(min(retries.cap, retries.base * 2 ** attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class AwsContext:
    """Sessions per (account, region), made once and reused."""

    endpoint_url: str | None = None
    profile: str | None = None
    role_name: str | None = None
    account_profiles: dict[str, str] = field(default_factory=dict)  # account id -> profile
    polling: Polling = field(default_factory=Polling)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[tuple[str, str], boto3.session.Session] = field(default_factory=dict, repr=False)
    _identities: dict[str, str] = field(default_factory=dict, repr=False)

    def _new_session(self, **kwargs: Any) -> boto3.session.Session:
        botocore_session = botocore.session.Session()
        # One loader for all sessions: each would otherwise parse the service models again (seconds).
        botocore_session.register_component("data_loader", _shared_loader())
        try:
            session = boto3.session.Session(botocore_session=botocore_session, **kwargs)
        except botocore.exceptions.ProfileNotFound as exc:
            raise self._no_profile(exc.kwargs.get("profile", kwargs.get("profile_name"))) from None
        except (ValueError, botocore.exceptions.BotoCoreError) as exc:
            raise InputError("AWS configuration", None, f"cannot open an AWS session: {exc}") from None
        session.events.register("before-call", _notify)
        return session

    def base_session(self, region: str) -> boto3.session.Session:
        key = ("base", region)
        if key not in self._sessions:
            self._sessions[key] = self._new_session(profile_name=self.profile, region_name=region)
        return self._sessions[key]

    def client(self, session: boto3.session.Session, service: str) -> Any:
        # botocore's standard retry mode answers throttling (Throttling, TooManyRequestsException…) with
        # exponential backoff and jitter, below our own retries (see :meth:`retrying`). AWS_RETRY_MODE wins.
        config = None if os.environ.get("AWS_RETRY_MODE") else Config(retries={"mode": "standard"})
        try:
            return session.client(service, endpoint_url=self.endpoint_url, config=config)
        except ValueError as exc:  # botocore: "Invalid endpoint: <url>"
            if self.endpoint_url and "endpoint" in str(exc).lower():
                raise InputError("--endpoint-url", None, f"{self.endpoint_url!r} is not a URL botocore accepts "
                                 "(expected e.g. http://127.0.0.1:5000)") from None
            raise InputError("AWS configuration", None, f"cannot make a {service} client: {exc}") from None
        except botocore.exceptions.ProfileNotFound as exc:  # botocore may read the profile only now
            raise self._no_profile(exc.kwargs.get("profile", session.profile_name)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise InputError("AWS configuration", None, f"cannot make a {service} client: {exc}") from None

    def _no_profile(self, profile: str | None) -> InputError:
        flag = "--profile" if profile == self.profile else "--account-profile"
        return InputError(flag, None, profile_not_found(botocore.session.get_session(), profile))

    def check_profiles(self, region: str) -> None:
        """Every named profile opened once, without a call: a typo in the prod account's profile is refused
        before the rollout changes dev, not halfway through it."""
        for profile in dict.fromkeys([self.profile, *self.account_profiles.values()]):
            if profile:
                self.client(self._new_session(profile_name=profile, region_name=region), "sts")

    def retrying(self, call: Callable[[], Any], codes: frozenset[str] = THROTTLING_CODES,
                 retries: Retries | None = None) -> Any:
        """``call()``, retried with exponential backoff and full jitter while AWS answers one of ``codes``."""
        return retry(call, codes, retries or Retries(), sleep=self.sleep)

    def session(self, account_id: str, region: str) -> boto3.session.Session:
        """A session acting in ``account_id``; raises a clear error when no credentials reach it."""
        key = (account_id, region)
        if key in self._sessions:
            return self._sessions[key]
        with translate_errors(f"credentials for account {account_id}"):
            if account_id in self.account_profiles:
                session = self._new_session(profile_name=self.account_profiles[account_id], region_name=region)
                self._expect_account(session, account_id, f"profile {self.account_profiles[account_id]!r}")
            elif self.role_name:
                session = self._assume(account_id, region)
            else:
                session = self.base_session(region)
                self._expect_account(session, account_id, "your credentials")
        self._sessions[key] = session
        return session

    def role_arn(self, account_id: str, region: str, role_name: str) -> str:
        return f"arn:{partition(region)}:iam::{account_id}:role/{role_name}"

    def _assume(self, account_id: str, region: str) -> boto3.session.Session:
        sts = self.client(self.base_session(region), "sts")
        credentials = sts.assume_role(
            RoleArn=self.role_arn(account_id, region, self.role_name or ""), RoleSessionName="herd-cfn"
        )["Credentials"]
        return self._new_session(
            aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"], region_name=region,
        )

    def _expect_account(self, session: boto3.session.Session, account_id: str, source: str) -> None:
        actual = self.client(session, "sts").get_caller_identity()["Account"]
        if actual != account_id:
            raise InputError(
                "credentials", None,
                f"{source} act in account {actual}, but account {account_id} is needed; pass "
                f"--account-profile {account_id}=PROFILE or --role-name ROLE (a role to assume in each account)",
            )

    def wait(self, describe: Callable[[], str | None], done: Callable[[str], bool],
             on_poll: Callable[[str, float], None] | None = None) -> str:
        """Poll ``describe`` with this context's backoff until ``done(status)``; TimeoutError after the timeout."""
        return poll(self.polling, describe, done, on_poll, sleep=self.sleep, clock=self.clock)

    def wait_for(self, waiting: Waiting, describe: Callable[[], str | None], done: Callable[[str], bool],
                 on_poll: Callable[[str, float], None] | None = None,
                 on_interrupt: Callable[[str], None] | None = None) -> str:
        """:func:`herd_cfn.operations.waiting.wait_for` with this context's polling, clock and sleep."""
        return wait_for(self.polling, waiting, describe, done, on_poll, on_interrupt=on_interrupt,
                        sleep=self.sleep, clock=self.clock)


def profile_not_found(session: botocore.session.Session, profile: str | None) -> str:
    """"profile 'x' not found in <config> or <credentials>": where botocore looked, so a typo or a missing
    AWS_CONFIG_FILE is seen at once."""
    import os

    files = []
    for variable in ("config_file", "credentials_file"):
        try:
            files.append(os.path.expanduser(str(session.get_config_variable(variable))))
        except Exception:  # only the message's detail: never hide the real error behind this one
            continue
    where = " or ".join(files) if files else "the AWS configuration files"
    return f"profile {profile!r} not found in {where}; list profiles with `aws configure list-profiles`"


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn botocore's exceptions into one line that says what to do."""
    try:
        yield
    except HerdError:
        raise
    except botocore.exceptions.NoCredentialsError:
        raise InputError(
            "credentials", None,
            f"no AWS credentials found ({doing}); set AWS_PROFILE or pass --profile, run `aws configure` "
            "or `aws sso login`, or try the emulator with --local",
        ) from None
    except botocore.exceptions.ProfileNotFound as exc:
        raise InputError("--profile", None, profile_not_found(botocore.session.get_session(),
                                                             exc.kwargs.get("profile"))) from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as exc:
        raise InputError("endpoint", None,
                         f"cannot reach {exc.kwargs.get('endpoint_url', 'AWS')} ({doing}); check --endpoint-url "
                         "and your network") from None
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message", str(exc))
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                    "SignatureDoesNotMatch"):
            raise InputError("credentials", None, f"{code}: {message} ({doing}); renew your credentials") from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise DeploymentError(f"access denied ({doing}): {message}") from None
        raise DeploymentError(f"{doing}: {code}: {message}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise DeploymentError(f"{doing}: {exc}") from None
    except botocore.parsers.ResponseParserError:
        # An HTML error page instead of an AWS response: an internal error of the endpoint (moto does this
        # for resources it cannot create).
        raise DeploymentError(f"{doing}: the endpoint failed with an internal error (no AWS error response)"
                              ) from None


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


# What AWS answers when a StackSet does not exist (the second is the older code some endpoints send).
STACKSET_NOT_FOUND = ("StackSetNotFoundException", "StackSetNotFound")


def unless_missing(call: Callable[[], Any], *not_found_codes: str) -> Any:
    """``call()``, or None when AWS answers that the thing does not exist (one of ``not_found_codes``)."""
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in not_found_codes:
            return None
        raise


def error_message(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", str(exc))
