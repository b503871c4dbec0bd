"""The ``basinmap`` command that pip installs: the Rust command line itself (basinmap::cli)."""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    """Runs ``basinmap`` with the process's arguments and exits with its code."""
    # As the Rust binary does: a reader that stops early (`basinmap bench | head`) ends the
    # program quietly, and Mesa's device-select layer stays out of headless machines' way.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Ctrl-C is the command line's, as in the binary: Python's handler would only set a flag that
    # nothing reads while Rust runs (`run` installs its own handler, to save its state).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.setdefault("NODEVICE_SELECT", "1")
    from . import _native

    sys.stdout.flush()
    code = _native.cli(["basinmap", *sys.argv[1:]])
    sys.exit(code)


if __name__ == "__main__":
    main()
