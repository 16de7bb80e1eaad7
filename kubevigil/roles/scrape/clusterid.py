"""The value of the cluster dimension: config, then AWS_CLUSTER_ID, then the EC2 instance's tags, else an error.

cni-metrics-helper reads the tags `eks:cluster-name`, `CLUSTER_ID`, `Name` (in that order) with DescribeTags and
falls back to "k8s-cluster" without a word; kubevigil asks IMDSv2's instance tags first (no EC2 permission needed
when tags are allowed in metadata), then DescribeTags, and otherwise fails with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import botocore.exceptions

from kubevigil.roles.scrape.config import ImdsParams

TAGS = ("eks:cluster-name", "CLUSTER_ID", "Name")
TOKEN_TTL = "300"


class ClusterIdError(Exception):
    """No cluster id could be found; str() says where kubevigil looked."""


async def resolve(configured: str | None, environ: Mapping[str, str], imds: ImdsParams) -> tuple[str, str]:
    """(cluster id, where it came from)."""
    if configured:
        return configured, "scrape.cluster_id"
    if environ.get("AWS_CLUSTER_ID"):
        return environ["AWS_CLUSTER_ID"], "AWS_CLUSTER_ID"
    hint = "set scrape.cluster_id or AWS_CLUSTER_ID"
    if not imds.enabled:
        raise ClusterIdError(f"no cluster id: {hint} (instance metadata is disabled)")
    try:
        value, tag = await InstanceTags(imds).first_of(TAGS)
    except (aiohttp.ClientError, TimeoutError, OSError, KeyError, ValueError) as exc:
        raise ClusterIdError(f"no cluster id: {hint}, or allow this pod to reach instance metadata at "
                             f"{imds.endpoint} ({type(exc).__name__}: {exc})") from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise ClusterIdError(f"no cluster id: {hint}, or allow ec2:DescribeTags (or instance tags in metadata): "
                             f"{exc}") from None
    if value is None:
        raise ClusterIdError(f"no cluster id: {hint}, or tag the instance with one of {', '.join(TAGS)}")
    return value, f"instance tag {tag}"


class InstanceTags:
    """The instance's tags through IMDSv2 (session token first), falling back to EC2 DescribeTags."""

    def __init__(self, imds: ImdsParams) -> None:
        self.base = imds.endpoint.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=imds.timeout)

    async def first_of(self, keys: tuple[str, ...]) -> tuple[str | None, str]:
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            token = await self._token(http)
            headers = {"X-aws-ec2-metadata-token": token}
            async with http.get(f"{self.base}/latest/meta-data/tags/instance", headers=headers) as resp:
                listed = (await resp.text()).split() if resp.status == 200 else None
            if listed is not None:
                for key in keys:
                    if key in listed:
                        async with http.get(f"{self.base}/latest/meta-data/tags/instance/{key}", headers=headers) as r:
                            r.raise_for_status()
                            value = (await r.text()).strip()
                        if value:
                            return value, key
                return None, ""
            async with http.get(f"{self.base}/latest/dynamic/instance-identity/document", headers=headers) as resp:
                resp.raise_for_status()
                document = await resp.json(content_type=None)
        return await asyncio.to_thread(_describe_tags, document["instanceId"], document["region"], keys,
                                       self.timeout.total or 2.0)

    async def _token(self, http: aiohttp.ClientSession) -> str:
        async with http.put(f"{self.base}/latest/api/token",
                            headers={"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL}) as resp:
            resp.raise_for_status()
            return (await resp.text()).strip()


def _describe_tags(instance_id: str, region: str, keys: tuple[str, ...], timeout: float) -> tuple[str | None, str]:
    from kubevigil.sinks.aws import AwsParams, make_client

    ec2: Any = make_client("ec2", AwsParams(region=region, connect_timeout=timeout, read_timeout=timeout))
    try:
        for key in keys:
            found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]},
                                               {"Name": "key", "Values": [key]}])["Tags"]
            if found and found[0].get("Value"):
                return found[0]["Value"], key
        return None, ""
    finally:
        ec2.close()
