#!/usr/bin/env bash
# Builds the `skillwal` Python package's wheel with maturin (release, abi3: CPython 3.9+),
# installs it with pip into a virtualenv (the wheel, as a user would get it — not
# `maturin develop`), runs its tests with pytest, and checks its type stubs (stubtest).
#
# Usage: python/check.sh [VENV_DIR]
#   VENV_DIR defaults to <repo root>/target/python-venv (made when missing).
#   PYTHON   selects the interpreter that makes it (default: python3, >= 3.9).
#   SKILLWAL_SKILLMEAT, SKILLWAL_REQUIRE_PYTHON_COMPAT: as for `cargo test` (README): the
#            worked example (examples/python/) runs where skillmeat 0.74 is installed.
# The tests also run the skillwal binary: it is built here (release) when missing.
# Needs PyPI for maturin and pytest (pinned in requirements-dev.txt) on the first run.
# The wheel is left in target/wheels/. Exit status: pytest's, or 1 on a build failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${1:-$repo/target/python-venv}"
py="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
venv="$(cd "$venv" && pwd)" # absolute: the build below runs from python/
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-dev.txt"

# The CLI, for the tests that share a collection between it and the package.
cargo build --release --locked --quiet --bin skillwal --manifest-path "$repo/Cargo.toml"
export SKILLWAL_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/skillwal"

wheels="$repo/target/wheels"
rm -rf "$wheels"
start=$(date +%s)
(cd "$here" && "$venv/bin/maturin" build --release --locked --quiet -o "$wheels")
end=$(date +%s)
wheel="$(ls "$wheels"/skillwal-*.whl)"
echo "wheel: $(basename "$wheel"), $(stat -c %s "$wheel") bytes, built in $((end - start)) s"

"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
# The worked example runs where SkillMeat 0.74 is installed (tools/python-compat/setup.sh):
# the wheel goes there too when SKILLWAL_SKILLMEAT names it.
if [ -n "${SKILLWAL_SKILLMEAT:-}" ]; then
  "$(dirname "$SKILLWAL_SKILLMEAT")/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
fi
# From the repository's root, so that `import skillwal` finds the installed wheel and not
# the python/skillwal/ sources beside the tests.
cd "$repo"
"$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider --timeout=300
# The type stubs agree with the module as built (names, signatures, defaults).
(cd "$repo/target" && "$venv/bin/python" -m mypy.stubtest skillwal._native)
