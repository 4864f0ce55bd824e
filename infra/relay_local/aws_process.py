"""The AWS process's main: `python -m relay_local.aws_process`, started by `AwsProcess`.

Local AWS (`state.process.serve`) is handed the SNS deliveries of `sources.sns`
and the user pools' triggers of `sources.cognito`, the parts of it that invoke
functions: this module stands above both rooms, so local AWS never imports the
sources. It imports nothing else, so the
process loads only what it runs.
"""

from __future__ import annotations

import signal
import sys

from relay_local.sources.cognito import CognitoTriggers
from relay_local.sources.sns import SnsDeliveries
from relay_local.state.process import serve


def main() -> int:
    # The terminal's Ctrl-C reaches every process of `relay run`; the stack stops local AWS
    # itself, after its own work, so this process takes no KeyboardInterrupt of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return serve(sys.argv[1:], SnsDeliveries, CognitoTriggers)


if __name__ == "__main__":
    sys.exit(main())
