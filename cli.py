#!/usr/bin/env python3
"""Run govcloud from a checkout: `python cli.py ...` is `govcloud ...`."""

from govcloud.cli.app import main

if __name__ == "__main__":
    main()
