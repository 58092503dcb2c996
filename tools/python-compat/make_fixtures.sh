#!/usr/bin/env bash
# Regenerate tests/fixtures/python/{basic,updated,edge} with the real skillmeat 0.74.0.
#
# Usage: tools/python-compat/make_fixtures.sh [SKILLMEAT_EXE] [OUT_DIR]
#   SKILLMEAT_EXE  default: the path printed by setup.sh (target/skillmeat-venv)
#   OUT_DIR        default: <repo>/tests/fixtures/python
#
# Each fixture directory is a HOME: <fixture>/.skillmeat/... exactly as the
# Python tool left it, minus machine-specific state (see DROPPED below).
# The sources used are in OUT_DIR/sources (committed); things git cannot or
# should not hold (.git/, __pycache__/, .gitignore, an empty dir) are added to
# a temporary copy of the sources here, to show that `add` drops them.
# Timestamps (and the uuid in `updated`) differ on every regeneration.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
sm="${1:-}"
if [ -z "$sm" ]; then sm="$("$here/setup.sh" | tail -n 1)"; fi
out="${2:-$repo_root/tests/fixtures/python}"
src_committed="$out/sources"
[ -d "$src_committed/my-skill" ] || { echo "make_fixtures.sh: missing $src_committed" >&2; exit 1; }
vpy="$(dirname "$sm")/python"

# Things removed from each HOME before it is saved as a fixture.
DROPPED=(cache analytics.db snapshots audit)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run() { # run HOME args... ; echoes the command, fails loudly
  local home="$1"; shift
  echo "+ skillmeat $*" >&2
  (cd "$work" && HOME="$home" NO_COLOR=1 COLUMNS=200 "$sm" "$@" </dev/null >"$work/last.out" 2>&1) || {
    echo "make_fixtures.sh: 'skillmeat $*' failed:" >&2; cat "$work/last.out" >&2; exit 1; }
}

fresh_sources() { # copy committed sources + the uncommittable extras into $work/src
  rm -rf "$work/src"; cp -a "$src_committed" "$work/src"
  local e="$work/src/edge-skill"
  mkdir -p "$e/.git" "$e/__pycache__" "$e/empty-dir" "$e/node_modules/pkg"
  echo "[core]" > "$e/.git/config"
  echo "*.log" > "$e/.gitignore"
  printf 'x' > "$e/__pycache__/x.pyc"
  echo "{}" > "$e/node_modules/pkg/package.json"
}

save() { # save HOME as fixture NAME
  local home="$1" name="$2"
  for d in "${DROPPED[@]}"; do rm -rf "$home/.skillmeat/$d"; done
  rm -rf "${out:?}/$name"; mkdir -p "$out/$name"
  cp -a "$home/.skillmeat" "$out/$name/.skillmeat"
  # What skillmeat itself reports about the saved tree (expected outputs for tests).
  (cd "$work" && HOME="$out/$name" NO_COLOR=1 "$sm" list --json --no-cache </dev/null) > "$work/list.json"
  (cd "$work" && HOME="$out/$name" "$vpy" "$here/check_drift.py" 2>/dev/null) > "$work/drift.txt" || true
  # the two commands above must not have written anything into the fixture
  for d in "${DROPPED[@]}"; do rm -rf "$out/$name/.skillmeat/$d"; done
  mkdir -p "$out/expected"
  cp "$work/list.json" "$out/expected/$name.list.json"
  cp "$work/drift.txt" "$out/expected/$name.drift.txt"
  # Tree listing: git keeps neither empty directories nor 0600 modes.
  (cd "$out/$name" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
     if [ -L "$p" ]; then echo "link $p -> $(readlink "$p")"
     elif [ -d "$p" ]; then echo "dir  $(stat -c %a "$p") $p"
     else echo "file $(stat -c %a "$p") $(sha256sum "$p" | cut -d' ' -f1) $p"; fi
   done) > "$out/expected/$name.tree.txt"
}

# --- basic: init + one skill (nested dirs, executable script), one command, one agent
fresh_sources
h="$work/home-basic"; mkdir -p "$h"
run "$h" init --name default --no-input
run "$h" add skill "$work/src/my-skill" --yes
run "$h" add command "$work/src/review.md" --yes
run "$h" add agent "$work/src/helper.md" --yes
save "$h" basic

# --- updated: same start, then the sources change and the collection follows
fresh_sources
h="$work/home-updated"; mkdir -p "$h"
run "$h" init --name default --no-input
run "$h" add skill "$work/src/my-skill" --yes
run "$h" add command "$work/src/review.md" --yes
run "$h" add agent "$work/src/helper.md" --yes
echo "Second revision." >> "$work/src/my-skill/docs/reference.md"
sed -i 's/^version: 1.2.0$/version: 1.3.0/' "$work/src/my-skill/SKILL.md"
echo "Also check the tests." >> "$work/src/review.md"
run "$h" add command "$work/src/review.md" --update --yes   # in-place, sets last_updated
run "$h" update helper                                        # local "refresh": rehash collection copy only
run "$h" add skill "$work/src/my-skill" --force --yes         # remove + re-add (moves to end, new added)
run "$h" remove review --force
save "$h" updated

# --- edge: hashing edge cases + a second collection
fresh_sources
h="$work/home-edge"; mkdir -p "$h"
run "$h" init --name default --no-input
run "$h" add skill "$work/src/edge-skill" --yes
run "$h" add command "$work/src/plain.md" --yes
run "$h" collection create work
run "$h" add agent "$work/src/helper.md" --collection work --yes
save "$h" edge

echo "fixtures written to $out" >&2
