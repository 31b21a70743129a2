#!/bin/sh
# Make sure the system programs a target needs are present: bwrap (the grading
# sandbox, package bubblewrap) and chromium (the browser tests).
#
#   tools/system_tools.sh bwrap chromium
#
# A missing program is installed with apt-get when that is possible without a
# password (as root, or through passwordless sudo); otherwise the script says
# what is missing and how to get it, and fails. Students never need this:
# `make lab` installs Python packages only.
set -u
missing=""
for program in "$@"; do
  command -v "$program" >/dev/null 2>&1 || missing="$missing $program"
done
[ -z "$missing" ] && exit 0

packages=""
for program in $missing; do
  case "$program" in
    bwrap) packages="$packages bubblewrap" ;;
    *) packages="$packages $program" ;;
  esac
done

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    sudo="none"
  fi
  if [ "$sudo" != none ]; then
    echo "installing$packages (Debian packages)"
    $sudo apt-get install -y -q $packages || { $sudo apt-get update -q && $sudo apt-get install -y -q $packages; } \
      && exit 0
  fi
fi

cat >&2 <<MESSAGE
This target needs$missing, which this machine lacks:
  bwrap     (Debian package bubblewrap) sandboxes student code while grading: make grade, make test, make bench
  chromium  (Debian package chromium) runs the browser tests: make test
Install them as an administrator, e.g. \`sudo apt-get install$packages\`, then run the target again.
bubblewrap exists only on Linux; on macOS grade inside a Linux machine or container
(or, for code you trust, with \`autograder grade --unsafe-no-sandbox\`).
Students need neither: \`make lab\` installs Python packages only.
MESSAGE
exit 1
