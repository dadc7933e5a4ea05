"""Athena in the local cloud: Hive DDL kept in the Glue catalog, Trino SQL run by DuckDB directly over
the S3 objects, results written to the output location as Athena writes them.

- `ddl`: statements (Hive DDL, utility statements, SELECT) parsed into what they ask for
- `catalog`: databases, tables and partitions in moto's Glue backend
- `projection`: the partitions a table with partition projection has
- `scan`: a table's S3 objects as a DuckDB relation with Hive text or Parquet semantics
- `dialect`: every Trino-to-DuckDB difference, in one place
- `results`: Athena's result types, value text, CSV and GetQueryResults rows
- `engine`: query executions and their life cycle
- `api`: the Athena API handlers
"""
