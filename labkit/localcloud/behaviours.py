"""Every AWS behaviour of the local cloud, attached to the API call AWS would answer.

One line per behaviour: this is the map from an AWS operation to the module that does what AWS does.
"""

from __future__ import annotations

import os

from . import alarms, athena, flow_log_setup, insights_api, moto_fixes
from .delivery import FlowLogDelivery
from .traffic_simulation import BackgroundTraffic, ConnectionAttempts
from .app import LocalCloudApp
from .server import code_version, labkit_home, user_id


def build_app() -> LocalCloudApp:
    moto_fixes.apply()
    app = LocalCloudApp()
    home = str(labkit_home().resolve())  # where this local cloud keeps its state and email
    delivery = FlowLogDelivery()
    app.endpoint("health", lambda _request: {"status": "ok", "pid": os.getpid(), "code": code_version(),
                                              "user": user_id(), "home": home, "delivery": delivery.delays.mode})
    app.after("ec2", "CreateFlowLogs", flow_log_setup.on_create_flow_logs)

    app.endpoint("connect", ConnectionAttempts(delivery))
    app.endpoint("background-traffic", BackgroundTraffic(delivery))
    insights_api.register(app)
    alarms.register(app)  # Part 3: metric filters publish, alarms evaluate and act, SNS email
    athena.register(app)  # Part 4: Athena SQL on DuckDB over the S3 objects, tables in Glue
    return app
