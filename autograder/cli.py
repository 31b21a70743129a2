"""Command line: ``autograder release``."""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="regenerate release/ from source/ and verify it")
    args = parser.parse_args(argv)
    if args.command == "release":
        from autograder.release import main as release_main
        return release_main()
    return 2


if __name__ == "__main__":
    sys.exit(main())
