"""EC2 where moto's models differ from AWS."""

from __future__ import annotations

from typing import Any


def modify_instance_groups_replaces_the_eni_groups(original: Any) -> Any:
    """ModifyInstanceAttribute(Groups=...) replaces the security groups of the instance's primary
    network interface on AWS; moto keeps the old ones on the ENI and adds the new ones."""
    def modify_instance_security_groups(self: Any, instance_id: str, new_group_id_list: list[str]) -> Any:
        instance = original(self, instance_id, new_group_id_list)
        primary = instance.nics.get(0)
        if primary is not None:
            primary._group_set = list(instance.security_groups)
        return instance
    return modify_instance_security_groups
