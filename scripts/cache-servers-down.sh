#!/usr/bin/env bash
# Stop the cache servers started by scripts/cache-servers-up.sh (same knobs: CACHE_CI_DIR, CACHE_SERVERS).
# Ends only the PIDs in its own pid files, after checking /proc/<pid>/cmdline (pid reuse); never by name.
# Keeps the data, logs and the installed npm package; CACHE_CI_WIPE=1 also removes the stored data.
set -euo pipefail

D="${CACHE_CI_DIR:-/tmp/pipe-cache-ci}"
SERVERS="${CACHE_SERVERS:-nginx turbo}"
say() { printf 'cache-servers-down: %s\n' "$*" >&2; }

[ -d "$D" ] || exit 0
if [ "${CACHE_DOWN_LOCK_HELD:-0}" != 1 ]; then
  mkdir -p "$D/run"
  exec 9>"$D/.lock"
  flock -w 120 9 || { say "error: another cache-servers-up/down holds $D/.lock"; exit 1; }
fi

# stop_pidfile <pidfile> <pattern> <name>: TERM, wait up to 10 s, then KILL.
stop_pidfile() {
  local pidfile="$1" pattern="$2" name="$3" pid i
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern"; then
    rm -f "$pidfile"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    [ -e "/proc/$pid" ] || break
    # A zombie has left /proc/<pid>/cmdline empty: it is gone for our purposes.
    [ -s "/proc/$pid/cmdline" ] || break
    sleep 0.05
  done
  if [ -s "/proc/$pid/cmdline" ]; then say "$name ($pid) ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  say "stopped $name ($pid)"
}

[[ " $SERVERS " == *" nginx "* ]] && { stop_pidfile "$D/run/nginx.pid" nginx nginx; rm -f "$D/run/nginx.knobs"; }
[[ " $SERVERS " == *" turbo "* ]] && { stop_pidfile "$D/run/turbo.pid" turborepo-remote-cache turborepo-remote-cache; rm -f "$D/run/turbo.knobs"; }
if [ "${CACHE_CI_WIPE:-0}" = 1 ]; then rm -rf "${D:?}/nginx/data" "${D:?}/turbo/data"; fi
exit 0
