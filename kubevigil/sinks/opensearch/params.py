"""Parameters of the `opensearch` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.model import Model
from kubevigil.sinks.bulk_index import SearchParams


class AwsSigV4(Model):
    """Sign requests for Amazon OpenSearch Service with credentials from the standard AWS chain (IRSA, env, IMDS)."""

    region: str | None = Field(None, description="Region of the domain; default from the AWS environment")
    service: str = Field("es", pattern="^(es|aoss)$", description="`es` for domains, `aoss` for Serverless collections")


class Params(SearchParams):
    aws_sigv4: AwsSigV4 | None = Field(None, description="Use AWS SigV4 request signing instead of basic auth")
