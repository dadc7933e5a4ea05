"""The local cloud: moto on 127.0.0.1, plus what AWS does by itself, laid out as moto lays out services.

    registry.py   every change to moto (patches, hooks, handlers, /_labkit/ endpoints), on one screen
    app.py        the HTTP glue: a request to moto, or to the handler that answers instead
    server.py     serving it; lifecycle.py finding, starting and stopping it (standard library only)
    home.py       a learner's LABKIT_HOME; formats.py AWS's Java-flavoured text; backends.py moto's state

    ec2/          network/ (security groups, network ACLs, connection tracking: pure), interfaces (moto's
                  EC2 as that model), learner_actions (SSH attempts, internet noise), models (moto fixes)
    flowlogs/     records, background, s3_files, log_events, policies (pure); models (CreateFlowLogs),
                  delivery (to S3 and CloudWatch Logs, at once or with AWS's delays)
    logs/         filter_patterns/, insights/, metric_filters (pure); models (moto glue), responses
    cloudwatch/   alarm_evaluation, notifications, metric_periods (pure); history, models, responses
    sns/          formats (pure), outbox (standard library only); models, responses
    s3/           storage: object bodies in files Athena reads in place
    athena/       Hive DDL into Glue, Trino SQL on DuckDB over the S3 objects

In each service: pure models apart from moto glue (`models`) apart from the wire (`responses`). State of
the local cloud's own lives per account and region in moto's BackendDict, and moto's reset clears it.
"""
