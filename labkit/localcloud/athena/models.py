"""Glue and Athena as a fresh account has them, where moto starts empty (docs/aws-behaviour.md,
"Account defaults"): the `default` database in every region's Glue Data Catalog (pyathena's default
schema, where the walkthrough's DDL creates its table), and the `AwsDataCatalog` data catalog that
Athena's ListDataCatalogs and GetDataCatalog show for it. moto already makes the `primary` work group
with AWS's settings. A work group deleted takes its tags with it (moto keeps them for the next work
group of the same name).
"""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend
from moto.utilities.utils import get_partition

from ..wire import AwsCall, Response

DEFAULT_DATABASE = "default"
AWS_DATA_CATALOG = "AwsDataCatalog"


def glue_has_the_default_database(original: Any) -> Any:
    """GlueBackend.__init__: every region's catalog starts with `default` (moto's starts empty)."""
    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original(self, region_name, account_id)
        self.create_database(DEFAULT_DATABASE, {"Name": DEFAULT_DATABASE, "Description": "Default Hive database"})
    return __init__


def athena_has_the_glue_data_catalog(original: Any) -> Any:
    """AthenaBackend.__init__: every region's Athena lists `AwsDataCatalog`, of type GLUE, over the
    account's own Glue catalog (moto lists no catalog and answers GetDataCatalog with nothing)."""
    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original(self, region_name, account_id)
        self.create_data_catalog(name=AWS_DATA_CATALOG, catalog_type="GLUE", description="",
                                 parameters={"catalog-id": account_id}, tags=[])
    return __init__


def forget_the_tags_of_a_deleted_work_group(call: AwsCall, response: Response) -> None:
    """After DeleteWorkGroup: its tags go with it."""
    if response.ok:
        arn = f"arn:{get_partition(call.region)}:athena:{call.region}:{call.account_id}:workgroup/{call.params['WorkGroup']}"
        get_backend("athena")[call.account_id][call.region].tagger.delete_all_tags_for_resource(arn)
