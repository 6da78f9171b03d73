#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by scripts/slurm-up.sh (same knobs, above all SLURM_CI_DIR).
# Order matters: slurmd leaves running job processes alive when it stops, so jobs are cancelled and any
# job process still listed by `scontrol listpids` is killed before the daemons go. The daemons get TERM
# in parallel (each needs ~2 s to exit), only by the pids in our own pid files, after checking
# /proc/<pid>/cmdline against pid reuse; KILL after SLURM_CI_STOP_TIMEOUT (15 s).
# Logs and the munge key stay in $SLURM_CI_DIR for inspection; state is wiped by the next slurm-up.
set -uo pipefail

D="${SLURM_CI_DIR:-/tmp/pipe-slurm}"
CONF="$D/etc/slurm.conf"
STOP_TIMEOUT="${SLURM_CI_STOP_TIMEOUT:-15}"
T0="$(date +%s.%N)"

say() { printf 'slurm-down: %s\n' "$*" >&2; }

[ -d "$D" ] || { say "nothing to stop ($D does not exist)"; exit 0; }
if [ "${SLURM_CI_LOCK_HELD:-0}" != 1 ]; then
  exec 9>"$D/.lock"
  flock -w 120 9 || { say "error: another slurm-up/slurm-down holds $D/.lock"; exit 1; }
fi

# live_pid <pidfile> <name>: print the pid if it is running and really is <name>.
live_pid() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" || return 1
  printf '%s\n' "$pid"
}

if [ -f "$CONF" ]; then
  export SLURM_CONF="$CONF"
  if live_pid "$D/run/slurmctld.pid" slurmctld >/dev/null; then
    # %F is the array master id (or the job id): one scancel per job or whole array.
    mapfile -t jobs < <(timeout 15 squeue -h -o %F 2>/dev/null | sort -u)
    if [ "${#jobs[@]}" -gt 0 ]; then
      timeout 15 scancel "${jobs[@]}" 2>/dev/null || true
      say "cancelled ${#jobs[@]} job(s)"
    fi
  fi
  # Job processes outlive slurmd; listpids asks each slurmstepd through the sockets in our spool dir.
  mapfile -t pids < <(timeout 10 scontrol listpids 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    say "killed ${#pids[@]} leftover job process(es)"
  fi
fi

# A zombie counts as gone (PID 1 here may not reap orphans).
gone() { [ ! -d "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

declare -A stopping=()
for name in slurmctld slurmd munged; do
  if pid="$(live_pid "$D/run/$name.pid" "$name")"; then
    kill -TERM "$pid" 2>/dev/null && stopping[$pid]="$name"
  fi
done

deadline=$(( $(date +%s) + STOP_TIMEOUT ))
while [ "${#stopping[@]}" -gt 0 ]; do
  for pid in "${!stopping[@]}"; do
    gone "$pid" && unset "stopping[$pid]"
  done
  [ "${#stopping[@]}" -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for pid in "${!stopping[@]}"; do
      say "${stopping[$pid]} ($pid) ignored TERM for ${STOP_TIMEOUT}s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    done
    break
  fi
  sleep 0.05
done

rm -f "$D/run/slurmctld.pid" "$D/run/slurmd.pid" "$D/run/munged.pid" "$D/run/munge.socket" "$D/run/munge.socket.lock"
say "stopped ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
