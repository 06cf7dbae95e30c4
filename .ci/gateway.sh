# Start and stop the gateway of .ci/run (sourced by it). The start command runs in a session and
# process group of its own, so stopping signals exactly what it started (venv, pip, exsim) and no
# other ExSim on the machine (stopping by name, as before, ended them all).

GATEWAY_PGID=

gateway_start() {  # gateway_start CMD LOGFILE: CMD in the background; sets GATEWAY_PGID
  # setsid turns the background job into a new group, whose id is its PID ($!), only when the job
  # is no group leader already: so no job control (which makes every job a group) while forking.
  local jobctl=${-//[^m]/}
  set +m
  setsid bash -c "$1" > "$2" 2>&1 < /dev/null &
  GATEWAY_PGID=$!
  [ -z "$jobctl" ] || set -m
  # setsid() runs just after the fork: wait for the group, or a signal could find no one yet
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 -- "-$GATEWAY_PGID" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "gateway_start: process group $GATEWAY_PGID did not appear" >&2
  return 1
}

gateway_alive() {  # true while a process of the group still runs (an exited one not yet reaped does not count)
  ps -eo pgid=,stat= | awk -v g="$GATEWAY_PGID" '$1 == g && $2 !~ /^Z/ { alive = 1 } END { exit !alive }'
}

_gateway_signal() {  # _gateway_signal SIG SECONDS: signal the group, then wait up to SECONDS for it to end
  # signal only while a member runs: a group id is only ours (never reused) while it has one
  if gateway_alive; then kill "-$1" -- "-$GATEWAY_PGID" 2>/dev/null || true; fi
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    gateway_alive || return 0
    sleep 0.05
  done
  return 1
}

gateway_stop() {  # gateway_stop [SECONDS]: SIGTERM the group, SIGKILL what still runs after SECONDS (10)
  [ -n "$GATEWAY_PGID" ] || return 0
  _gateway_signal TERM "${1:-10}" || _gateway_signal KILL 5 || echo "gateway_stop: group $GATEWAY_PGID survived SIGKILL" >&2
  wait "$GATEWAY_PGID" 2>/dev/null || true
  GATEWAY_PGID=
}
