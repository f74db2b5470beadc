"""Tags: one mixin of the backend (`TagsMixin`), on any live resource of the caller, whatever its family.

Rules: at most the model's ResourceTagList maximum per resource (ServiceQuotaExceededException beyond); a resource
is taggable while it is live (`_is_live`, which each resource family answers for); its tags go when it is deleted.
"""

from __future__ import annotations

from invoicing_mock.exceptions import ResourceNotFoundException, ServiceQuotaExceededException
from invoicing_mock.models.base import BackendBase, clip


class TagsMixin(BackendBase):
    """TagResource, UntagResource, ListTagsForResource."""

    def _tagged(self, account: str, arn: str) -> dict[str, str]:
        if not self._is_live(account, arn):
            raise ResourceNotFoundException(
                clip(f"Resource {arn} does not exist in account {account}"),
                resource_name=arn if len(arn) <= 256 else None,
            )
        return self._tags.setdefault(arn, {})

    def tag_resource(self, account: str, params: dict) -> dict:
        """Merges: a given key replaces its value; at most the quota of tags per resource."""
        tags = self._tagged(account, params["ResourceArn"])
        merged = dict(tags)
        merged.update({tag["Key"]: tag["Value"] for tag in params["ResourceTags"]})
        if len(merged) > self.limits.tags_per_resource:
            raise ServiceQuotaExceededException(
                f"A resource has at most {self.limits.tags_per_resource} tags; this would make {len(merged)}"
            )
        tags.update(merged)
        return {}

    def untag_resource(self, account: str, params: dict) -> dict:
        """Keys the resource does not have are ignored."""
        tags = self._tagged(account, params["ResourceArn"])
        for key in params["ResourceTagKeys"]:
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, account: str, params: dict) -> dict:
        """Tags in the order they were first set."""
        tags = self._tagged(account, params["ResourceArn"])
        return {"ResourceTags": [{"Key": key, "Value": value} for key, value in tags.items()]}
