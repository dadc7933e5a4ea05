"""labkit: helpers for the VPC Flow Logs lab kit.

    config = LabConfig.resolve(target="local")   # or "aws"
    lab = connect(config)                          # starts the local cloud on first use
"""

from .config import ConfigError, LabConfig
from .session import Lab, connect

__all__ = ["ConfigError", "Lab", "LabConfig", "connect"]
