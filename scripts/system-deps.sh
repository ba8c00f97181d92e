#!/usr/bin/env bash
# The system (Debian/Ubuntu) packages quantlab needs, in one place, used by `make run`,
# `make test` and .ci/run.
#
#   scripts/system-deps.sh [--check] [GROUP ...]     (default group: core)
#
# Missing packages are installed with apt-get when running as root (saying what and why);
# otherwise the script stops at once and prints the exact command to run. --check only
# reports (exit 1 when something is missing). `--list GROUP ...` prints the package names.
#
# A group is one line below: "package=probe" pairs, where a probe is cmd:NAME (a command
# on PATH), lib:SONAME (a shared library) or file:PATH. To add a group, add one line.
set -euo pipefail

group_packages() {
  case "$1" in
    # sandbox: OS-level isolation (bubblewrap) and the system-call filter (libseccomp)
    core) echo "bubblewrap=cmd:bwrap libseccomp2=lib:libseccomp.so.2" ;;
    # tests: rendering the PDF reports to images (pdftoppm)
    test) echo "poppler-utils=cmd:pdftoppm" ;;
    # web: the browser tests drive Debian's chromium, with a CJK font for the zh-CN pages
    web) echo "chromium=cmd:chromium fonts-wqy-microhei=file:/usr/share/fonts/truetype/wqy/wqy-microhei.ttc" ;;
    # benchmarks: the HTTP load generator of benchmarks/api_load.py
    bench) echo "wrk=cmd:wrk" ;;
    *) echo "system-deps: unknown group '$1' (known: core, test, web, bench)" >&2; return 2 ;;
  esac
}

present() {
  local probe=$1 kind=${1%%:*} name=${1#*:}
  case "$kind" in
    cmd) command -v "$name" >/dev/null 2>&1 ;;
    lib) ldconfig -p 2>/dev/null | grep -q "[[:space:]]$name " ||
         compgen -G "/usr/lib/*/$name" >/dev/null || compgen -G "/lib/*/$name" >/dev/null ;;
    file) [ -e "$name" ] ;;
    *) echo "system-deps: bad probe '$probe'" >&2; return 2 ;;
  esac
}

mode=install
groups=()
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --list) mode=list ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) groups+=("$arg") ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(core)

missing=()
for group in "${groups[@]}"; do
  for pair in $(group_packages "$group"); do
    pkg=${pair%%=*}
    if [ "$mode" = list ]; then echo "$pkg"; continue; fi
    present "${pair#*=}" || missing+=("$pkg")
  done
done
[ "$mode" = list ] && exit 0
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$mode" = check ]; then
  echo "system-deps: missing system packages: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing system packages (groups: ${groups[*]}): ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "system-deps: installed ${missing[*]}"
  exit 0
fi
echo "system-deps: quantlab needs these system packages: ${missing[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "run:  sudo apt-get install -y ${missing[*]}" >&2
else
  echo "install them with your system's package manager (Debian names shown), then retry" >&2
fi
exit 1
