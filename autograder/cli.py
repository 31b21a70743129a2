"""Command line of the course's grading tool.

    autograder release [ASSIGNMENT ...] [--no-verify]
        regenerate release/ from source/ with nbgrader, then verify with stock
        nbgrader that the answered source earns full marks and the release zero.
"""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description="The course's grading tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    release = sub.add_parser("release", help="regenerate release/ from source/ and verify it")
    release.add_argument("assignments", nargs="*", help="assignment names (default: every one in source/)")
    release.add_argument("--no-verify", action="store_true", help="skip grading with stock nbgrader")
    args = parser.parse_args(argv)
    if args.command == "release":
        from autograder.release import main as release_main
        return release_main(args.assignments, check=not args.no_verify)
    return 2


if __name__ == "__main__":
    sys.exit(main())
