#!/usr/bin/env bash
# The shell steps of the vastplan CI pipelines (github-actions/vastplan.yml and gitlab-ci.yml), one
# per job. Copy it into your repository as ci/vastplan-ci.sh. See docs/ci.md.
#
#   vastplan-ci.sh plan    validate the stack, then save the plan to $PLAN, with plan.txt (the plan as
#                          text) and plan.md (the review comment); exits 0 with or without changes
#   vastplan-ci.sh apply   apply exactly $PLAN, the plan the merged pull request saved; refused (exit 1,
#                          nothing changed) when the state, the stack or the account moved on since
#   vastplan-ci.sh reap    destroy the instances whose ttl ran out
#
# Environment: STACK (the stack file, default vastplan.yaml); PLAN (default plan.bin);
# VASTPLAN_BACKEND (where the state is: postgresql://user@host:5432/db, the password in PGPASSWORD);
# VASTPLAN_WORKSPACE; VAST_API_KEY; VASTPLAN_ARGS (more flags for every command, e.g. --var-file prod.yaml).
set -euo pipefail

stack=${STACK:-vastplan.yaml}
plan=${PLAN:-plan.bin}
read -r -a extra <<< "${VASTPLAN_ARGS:-}"

case "${1:-}" in
  plan)
    vastplan validate -f "$stack" "${extra[@]}"
    code=0
    vastplan plan -f "$stack" "${extra[@]}" --no-color --lock-timeout 300 --detailed-exitcode --out "$plan" \
      > plan.txt || code=$?
    cat plan.txt
    if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then
      exit "$code"
    fi
    changes=$([ "$code" -eq 2 ] && echo true || echo false)
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
      echo "changes=$changes" >> "$GITHUB_OUTPUT"
    fi
    {
      echo "#### vastplan plan: \`$stack\` (workspace ${VASTPLAN_WORKSPACE:-default})"
      echo
      if [ "$changes" = true ]; then
        echo "Merging applies exactly this plan."
      else
        echo "No changes."
      fi
      echo
      echo '```'
      cat plan.txt
      echo '```'
    } > plan.md
    ;;
  apply)
    if [ ! -f "$plan" ]; then
      echo "error: no saved plan $plan: the pull request's plan job must have saved one" >&2
      exit 1
    fi
    vastplan apply "${extra[@]}" --no-color --lock-timeout 600 "$plan"
    ;;
  reap)
    vastplan reap -f "$stack" "${extra[@]}" --no-color --lock-timeout 600 --auto-approve
    ;;
  *)
    echo "usage: $0 plan|apply|reap" >&2
    exit 1
    ;;
esac
