#!/usr/bin/env bash
# Install the reference Python tool skillmeat==0.74.0 into a virtualenv.
#
# Usage: tools/python-compat/setup.sh [VENV_DIR]
#   VENV_DIR defaults to <repo root>/target/skillmeat-venv.
#   PYTHON   env var selects the interpreter (default: python3; needs >= 3.9,
#            the results in FINDINGS.md were taken with CPython 3.11).
#
# Idempotent: if VENV_DIR already holds skillmeat 0.74.0 nothing is installed.
# Needs network access to PyPI only (about 30 s and ~250 MB on first run).
# Dependencies are pinned through constraints.txt next to this script; if that
# pinned set cannot be installed, it retries unpinned and says so on stderr.
# The LAST line of stdout is the absolute path of the `skillmeat` executable.
# Exit status: 0 on success, 1 on any failure (message on stderr).
set -euo pipefail

SKILLMEAT_VERSION="0.74.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
venv="${1:-$repo_root/target/skillmeat-venv}"
py="${PYTHON:-python3}"

die() { echo "setup.sh: error: $*" >&2; exit 1; }

command -v "$py" >/dev/null 2>&1 || die "'$py' not found on PATH (install CPython >= 3.9, or set PYTHON=/path/to/python3)"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || die "'$py' is $("$py" -V 2>&1); skillmeat $SKILLMEAT_VERSION needs Python >= 3.9"

mkdir -p "$(dirname "$venv")" || die "cannot create parent directory of $venv"
venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"
sm="$venv/bin/skillmeat"
vpy="$venv/bin/python"

installed_ok() {
  [ -x "$sm" ] && [ -x "$vpy" ] && "$vpy" - "$SKILLMEAT_VERSION" <<'PY' >/dev/null 2>&1
import sys, importlib.metadata as m
sys.exit(0 if m.version("skillmeat") == sys.argv[1] else 1)
PY
}

if installed_ok; then
  echo "skillmeat $SKILLMEAT_VERSION already installed in $venv" >&2
else
  if [ ! -x "$vpy" ]; then
    echo "creating virtualenv $venv" >&2
    "$py" -m venv "$venv" >&2 \
      || die "'$py -m venv $venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  pip_args=(install --disable-pip-version-check --no-input --quiet)
  echo "installing skillmeat==$SKILLMEAT_VERSION into $venv (pinned dependencies)" >&2
  if ! "$vpy" -m pip "${pip_args[@]}" -c "$here/constraints.txt" "skillmeat==$SKILLMEAT_VERSION" >&2; then
    echo "setup.sh: warning: pinned install failed; retrying with unpinned dependencies" >&2
    "$vpy" -m pip "${pip_args[@]}" "skillmeat==$SKILLMEAT_VERSION" >&2 \
      || die "pip install skillmeat==$SKILLMEAT_VERSION failed (is PyPI reachable?)"
  fi
  installed_ok || die "skillmeat $SKILLMEAT_VERSION is not importable from $venv after install"
fi

# Smoke test in a throw-away HOME: any skillmeat invocation (even --version)
# creates ~/.skillmeat/config.toml, so never run it against the real HOME.
tmp_home="$(mktemp -d)"
trap 'rm -rf "$tmp_home"' EXIT
out="$(HOME="$tmp_home" NO_COLOR=1 "$sm" --version </dev/null 2>&1)" \
  || die "'$sm --version' failed: $out"
case "$out" in
  *"version $SKILLMEAT_VERSION"*) ;;
  *) die "unexpected '$sm --version' output: $out" ;;
esac

echo "$sm"
