#!/usr/bin/env bash
# One entry point for people and CI: sets everything up, then runs the job asked for.
#
#   ./run.sh campaign   the certification campaign on the emulated test-bed
#   ./run.sh tests      lint, type check and the framework's own tests
#   ./run.sh setup      only set up (.venv, pip packages, Debian packages when root)
#
# Set-up is idempotent and quick when nothing changed (a stamp keyed on pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON=${PYTHON:-python3}

need_debian_packages() {
  local missing=()
  command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  if [ "$(id -u)" = 0 ]; then
    # report PDF, browser test and Korean glyphs: installed when we can, never required
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    [ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
    # the history's PostgreSQL path is tested against a real server the tests start from this package
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  fi
  echo "${missing[@]:-}"
}

setup() {
  local missing
  missing=$(need_debian_packages)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "run.sh: installing Debian packages: $missing" >&2
      apt-get update -qq
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
      echo "run.sh: please install these Debian packages first (needs root): $missing" >&2
      exit 2
    fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.setup-stamp" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[dev,cpu-reference,postgresql,bmc]'
    echo "$want" > "$stamp"
  fi
}

campaign() {
  "$VENV/bin/lab" inventory check inventory/gwangju.yaml inventory/emulated.yaml
  # the report is signed with the lab's key ($LAB_REPORT_KEY), else with a local key made once (out/ is git-ignored);
  # lab campaign ends by verifying it against that key: later, lab verify REPORT --key out/keys/report-signing.pub
  if [ -z "${LAB_REPORT_KEY:-}" ]; then
    [ -f out/keys/report-signing.key ] || "$VENV/bin/lab" keys generate out/keys >/dev/null
    export LAB_REPORT_KEY=out/keys/report-signing.key
  fi
  "$VENV/bin/lab" campaign "$@"
}

tests() {
  "$VENV/bin/ruff" check lab tests benchmarks testsuites conftest.py
  "$VENV/bin/ruff" format --check lab tests benchmarks testsuites conftest.py
  "$VENV/bin/mypy"
  "$VENV/bin/pytest" -n 2 "$@"
}

job=${1:-}
[ $# -gt 0 ] && shift
case "$job" in
  setup) setup ;;
  campaign) setup; campaign "$@" ;;
  tests) setup; tests "$@" ;;
  *) echo "usage: ./run.sh campaign|tests|setup" >&2; exit 2 ;;
esac
