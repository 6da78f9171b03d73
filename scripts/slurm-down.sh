#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by scripts/slurm-up.sh (same knobs, above all SLURM_CI_DIR).
# Order matters: slurmd leaves running job processes alive when it stops, so jobs are cancelled and any
# job process still listed by `scontrol listpids` is killed before the daemons go. The daemons get TERM
# in parallel (each needs ~2 s to exit), only by the pids in our own pid files, after checking
# /proc/<pid>/cmdline against pid reuse; KILL after SLURM_CI_STOP_TIMEOUT (15 s).
# A cluster started with SLURM_CI_CGROUP=1 (cgroup v1) leaves empty cgroups behind, /sys/fs/cgroup/<controller>/
# slurm_<node>: they are removed once the daemons are gone (on cgroup v2, untested, nothing is removed).
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

jobs=()
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
  # Let the cancelled jobs end in slurmctld before it goes: each job's slurmstepd reports the end and exits. With
  # slurmctld gone first, a slurmstepd keeps retrying that report, slurmd waits for it (ignoring TERM until KILL)
  # and, with SLURM_CI_CGROUP=1, its cgroups stay in use. Bounded by SLURM_CI_STOP_TIMEOUT.
  if [ "${#jobs[@]}" -gt 0 ] && live_pid "$D/run/slurmctld.pid" slurmctld >/dev/null; then
    deadline=$(( $(date +%s) + STOP_TIMEOUT ))
    while [ -n "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.1
    done
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

# The job cgroups of a cgroup cluster: slurm_<node> under each v1 controller, deepest first. rmdir only removes
# an empty cgroup (no processes, no children): a job process just KILLed may take a moment to leave its cgroup,
# so a few rounds over ~2 s; one still in use after that stays, with a warning.
if [ -f "$CONF" ] && grep -q '^ProctrackType=proctrack/cgroup' "$CONF"; then
  node="$(awk -F'[= ]' '/^NodeName=/ { print $2; exit }' "$CONF")"
  left=0
  for _ in $(seq 20); do
    left=0
    [ -n "$node" ] || break
    for dir in /sys/fs/cgroup/*/"slurm_$node"; do
      [ -d "$dir" ] || continue
      while IFS= read -r sub; do
        rmdir "$sub" 2>/dev/null || left=$((left + 1))
      done < <(find "$dir" -depth -type d 2>/dev/null)
    done
    [ "$left" -eq 0 ] && break
    sleep 0.1
  done
  [ "$left" -eq 0 ] || say "warning: $left cgroup dir(s) of node $node still in use, left in place"
fi

rm -f "$D/run/slurmctld.pid" "$D/run/slurmd.pid" "$D/run/munged.pid" "$D/run/munge.socket" "$D/run/munge.socket.lock"
say "stopped ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
