"""`python -m labkit.localcloud serve [--port N]`: the detached local-cloud process (port 0: any free port)."""

import argparse

from .server import serve_forever

parser = argparse.ArgumentParser(prog="python -m labkit.localcloud")
parser.add_argument("command", choices=["serve"])
parser.add_argument("--port", type=int, default=None, help="default: 4580, or any free port if that is taken")
serve_forever(parser.parse_args().port)
