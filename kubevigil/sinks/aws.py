"""AWS clients for sinks: standard credential chain, hard timeouts, and error classification.

boto3 and botocore are imported where they are used, not here: every sink's params import `AwsParams`, and loading
a config must not pay for them (9 MB of a nurse's RSS) when no AWS sink is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import Field

from kubevigil.core.model import Model
from kubevigil.sinks.sink import AccessError, RetryableError, SinkError, error_for_status

R = TypeVar("R")

_THROTTLING = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "LimitExceededException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalFailure", "InternalError", "InternalServiceError",
}
# Credentials refused, expired or not allowed: AWS answers 400 for some of them, so the code decides.
_ACCESS = {
    "AccessDenied", "AccessDeniedException", "AuthorizationError", "AuthFailure", "UnrecognizedClientException",
    "InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSignatureException",
    "IncompleteSignature", "MissingAuthenticationToken", "ExpiredToken", "ExpiredTokenException", "RequestExpired",
    "NotAuthorized", "KMSAccessDeniedException", "KMSDisabledException",
}


class AwsParams(Model):
    """Where and how to reach AWS; credentials always come from the standard chain (env, IRSA, IMDS)."""

    region: str | None = Field(None, description="AWS region; default from AWS_REGION / AWS_DEFAULT_REGION / IMDS")
    endpoint_url: str | None = Field(None, description="Override the service endpoint (VPC endpoint, tests)")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection")
    read_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a response")


def make_client(service: str, params: AwsParams) -> Any:
    """A boto3 client whose own retries are off: delivery owns retries, backoff and jitter."""
    import boto3
    import botocore.config

    config = botocore.config.Config(
        connect_timeout=params.connect_timeout,
        read_timeout=params.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},  # "max_attempts: 1" still means one retry
    )
    session = boto3.session.Session(region_name=params.region)
    return session.client(service, endpoint_url=params.endpoint_url, config=config)


def classify(exc: Exception) -> SinkError:
    """Map a botocore failure onto the one table (`error_for_status`), by error code where AWS's status says less:
    throttling is retried, refused credentials and missing queues, topics or streams are access errors."""
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or None
        message = exc.response.get("Error", {}).get("Message", "")
        reason = f"{code}: {message}" if message else code
        if code in _THROTTLING:
            return RetryableError(reason)
        if code in _ACCESS or code.endswith(("NotFound", "NotFoundException", "NonExistentQueue")):
            return AccessError(reason)
        return error_for_status(status, reason)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return AccessError(str(exc))
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return RetryableError(str(exc))
    return RetryableError(f"{type(exc).__name__}: {exc}")


async def call(fn: Callable[..., R], /, **kwargs: Any) -> R:
    """Run one blocking boto3 call in a worker thread; botocore errors become SinkError."""
    import botocore.exceptions
    import botocore.parsers

    try:
        return await asyncio.to_thread(fn, **kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise classify(exc) from exc
    except botocore.parsers.ResponseParserError as exc:  # not AWS answering (a proxy's error page): try again later
        raise RetryableError(f"unreadable answer: {str(exc)[:300]}") from exc
