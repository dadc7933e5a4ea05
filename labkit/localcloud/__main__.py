"""`python -m labkit.localcloud serve --port N`: the detached local-cloud process."""

import argparse

from .server import DEFAULT_PORT, serve_forever

parser = argparse.ArgumentParser(prog="python -m labkit.localcloud")
parser.add_argument("command", choices=["serve"])
parser.add_argument("--port", type=int, default=DEFAULT_PORT)
serve_forever(parser.parse_args().port)
