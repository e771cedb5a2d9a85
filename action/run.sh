#!/usr/bin/env bash
# The GitHub Action's lint step (action.yml): `sa-guard lint` over the given paths, and, when
# asked, the same lint as SARIF into a file for code scanning.
#
# Environment:
#   SA_GUARD_BIN         the binary (action/install.sh's output)
#   SA_GUARD_PATHS       files and directories, separated by spaces or new lines
#   SA_GUARD_SETTINGS    settings file, or empty
#   SA_GUARD_FAIL_ON     deny or warn: the level that fails
#   SA_GUARD_FORMAT      text, json, sarif or github (workflow annotations)
#   SA_GUARD_SARIF_FILE  when not empty, also write SARIF there
#   SA_GUARD_DEFER_EXIT  true: exit 0 and leave the lint's status in the `exit-code` output, so
#                        that a later step (the SARIF upload) runs before the job fails
# Outputs ($GITHUB_OUTPUT): exit-code, sarif-file.
set -euo pipefail

bin="${SA_GUARD_BIN:?SA_GUARD_BIN is not set}"
read -r -a paths <<< "$(printf '%s' "${SA_GUARD_PATHS:-.}" | tr '\n' ' ')"
[ ${#paths[@]} -gt 0 ] || paths=(.)

options=(--fail-on "${SA_GUARD_FAIL_ON:-deny}")
if [ -n "${SA_GUARD_SETTINGS:-}" ]; then options+=(--settings "$SA_GUARD_SETTINGS"); fi

status=0
"$bin" lint "${options[@]}" --format "${SA_GUARD_FORMAT:-github}" "${paths[@]}" || status=$?

sarif_file="${SA_GUARD_SARIF_FILE:-}"
if [ -n "$sarif_file" ]; then
  sarif_status=0
  "$bin" lint "${options[@]}" --format sarif "${paths[@]}" > "$sarif_file" || sarif_status=$?
  # 1 is "findings" (already in $status); anything else means no SARIF was written.
  if [ "$sarif_status" -gt 1 ]; then
    echo "sa-guard: writing SARIF failed (exit $sarif_status)" >&2
    [ "$status" -gt 1 ] || status=$sarif_status
  fi
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "exit-code=$status" >> "$GITHUB_OUTPUT"
  echo "sarif-file=$sarif_file" >> "$GITHUB_OUTPUT"
fi
if [ "${SA_GUARD_DEFER_EXIT:-false}" = true ]; then exit 0; fi
exit "$status"
