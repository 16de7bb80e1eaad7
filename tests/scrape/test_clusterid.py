"""The cluster id chain: config, AWS_CLUSTER_ID, then the instance's tags from a fake IMDSv2 on loopback (and EC2
DescribeTags on moto when tags are not in metadata), else a clear error — never a silent "k8s-cluster"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import pytest_asyncio
from aiohttp import web

from kubevigil.roles.scrape.clusterid import ClusterIdError, resolve
from kubevigil.roles.scrape.config import ImdsParams
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import scrape_role

TOKEN = "imds-session-token"


@dataclass
class FakeImds:
    """IMDSv2: a PUT for a session token first; every GET without that token is refused with 401."""

    tags: dict[str, str] | None = None  # None: instance tags are not allowed in metadata (404)
    instance_id: str = "i-0123456789abcdef0"
    gets: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put("/latest/api/token", self.token)
        app.router.add_get("/latest/{path:.*}", self.get)
        return app

    async def token(self, request: web.Request) -> web.Response:
        if not request.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return web.Response(status=400)
        return web.Response(text=TOKEN)

    async def get(self, request: web.Request) -> web.Response:
        if request.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.gets.append(path)
        if path == "dynamic/instance-identity/document":
            return web.json_response({"instanceId": self.instance_id, "region": "eu-west-1"})
        if path.startswith("meta-data/tags/instance"):
            if self.tags is None:
                return web.Response(status=404)
            key = path.removeprefix("meta-data/tags/instance").strip("/")
            if not key:
                return web.Response(text="\n".join(self.tags))
            return web.Response(text=self.tags[key]) if key in self.tags else web.Response(status=404)
        return web.Response(status=404)


@pytest_asyncio.fixture
async def imds() -> AsyncIterator[tuple[FakeImds, str]]:
    fake = FakeImds()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_config_then_environment_win_without_asking_imds(imds: tuple[FakeImds, str]) -> None:
    fake, endpoint = imds
    params = ImdsParams(endpoint=endpoint)
    assert await resolve("from-config", {"AWS_CLUSTER_ID": "env"}, params) == ("from-config", "scrape.cluster_id")
    assert await resolve(None, {"AWS_CLUSTER_ID": "env"}, params) == ("env", "AWS_CLUSTER_ID")
    assert fake.gets == []


async def test_instance_tags_in_priority_order(imds: tuple[FakeImds, str]) -> None:
    fake, endpoint = imds
    fake.tags = {"Name": "node-a", "CLUSTER_ID": "legacy", "eks:cluster-name": "prod-eks"}
    assert await resolve(None, {"AWS_CLUSTER_ID": ""}, ImdsParams(endpoint=endpoint)) == (
        "prod-eks", "instance tag eks:cluster-name")
    fake.tags = {"Name": "node-a"}
    assert await resolve(None, {}, ImdsParams(endpoint=endpoint)) == ("node-a", "instance tag Name")


async def test_no_tag_is_an_error_not_k8s_cluster(imds: tuple[FakeImds, str]) -> None:
    fake, endpoint = imds
    fake.tags = {"team": "x"}
    with pytest.raises(ClusterIdError, match="tag the instance with one of eks:cluster-name, CLUSTER_ID, Name"):
        await resolve(None, {}, ImdsParams(endpoint=endpoint))


async def test_describe_tags_when_metadata_has_no_tags(imds: tuple[FakeImds, str], aws_env: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake, endpoint = imds
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", aws_env)
    ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=aws_env)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "CLUSTER_ID", "Value": "tagged-by-ec2"}])
    fake.instance_id = instance
    assert await resolve(None, {}, ImdsParams(endpoint=endpoint)) == ("tagged-by-ec2", "instance tag CLUSTER_ID")


async def test_unreachable_or_disabled_imds_is_a_clear_error() -> None:
    with pytest.raises(ClusterIdError, match="instance metadata is disabled"):
        await resolve(None, {}, ImdsParams(enabled=False))
    # A loopback port nothing listens on.
    with pytest.raises(ClusterIdError, match=re.escape("reach instance metadata at http://127.0.0.1:9")):
        await resolve(None, {}, ImdsParams(endpoint="http://127.0.0.1:9", timeout=1))


async def test_role_not_ready_with_the_reason(imds: tuple[FakeImds, str], tmp_path: Path) -> None:
    fake, endpoint = imds
    fake.tags = {}
    async with Cluster(workloads=False) as cluster:
        section = {"sinks": ["mem"], "imds": {"endpoint": endpoint}}
        async with scrape_role(cluster.write_kubeconfig(tmp_path / "kc"), section, tmp_path / "s") as run:
            await eventually(lambda: not run.role.readiness().ok and "no cluster id" in run.role.readiness().detail,
                           what="not ready with the cluster id reason")
            assert run.recorder.puts == []
