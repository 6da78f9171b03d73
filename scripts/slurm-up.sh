#!/usr/bin/env bash
# Bring up a real single-node Slurm cluster (munged + slurmctld + slurmd) in a directory of its own,
# for CI and tests. Installs nothing (needs the Debian packages slurm-wlm and munge) and touches nothing
# outside $SLURM_CI_DIR: its own munge key and socket, its own slurm.conf, ports in 18000-18999.
#
#   eval "$(bash scripts/slurm-up.sh)"      # prints: export SLURM_CONF=...; export PIPE_TEST_SLURM=1; ...
#   ... sbatch / squeue / the pipe slurm executor ...
#   bash scripts/slurm-down.sh              # same environment knobs
#
# Idempotent: a healthy cluster started with the same knobs is left alone (~0.05 s); one started with other
# knobs, or a broken one, is stopped and started again. Concurrent calls on one directory are serialised.
# Only the export lines go to stdout; progress and errors go to stderr.
#
# Knobs (environment):
#   SLURM_CI_DIR=/tmp/pipe-slurm        everything lives here (etc/ run/ log/ state/ spool/ munge/)
#   SLURM_CI_CTLD_PORT=18817  SLURM_CI_SLURMD_PORT=18818  SLURM_CI_SRUN_PORTS=18900-18949
#   SLURM_CI_NODE=$(hostname -s)        node name (the daemon is started with -N)
#   SLURM_CI_PARTITION=ci               name of the default partition (a second one, "short", has MaxTime 10 min)
#   SLURM_CI_CPUS=$(nproc)              CPUs declared for the node; more than nproc adds config_overrides
#                                       (fine for tiny test jobs: lets one scheduling pass start many of them)
#   SLURM_CI_MEM_MB=<90% MemAvailable>  RealMemory of the node
#   SLURM_CI_SCHED_PARAMS=<fast>        SchedulerParameters; "none" keeps Slurm's defaults (~2.5 s latency)
#   SLURM_CI_SLURMD_TIMEOUT=30          SlurmdTimeout (lower it for faster node-failure tests)
#   SLURM_CI_KILL_INVALID_DEPEND=1      DependencyParameters=kill_invalid_depend (afterok on a failed job cancels)
#   SLURM_CI_KEEP_STATE=1               keep StateSaveLocation across restarts (else job ids restart at 1)
#   SLURM_CI_CGROUP=1                   enforce jobs' --mem: proctrack/cgroup, task/cgroup, jobacct_gather/cgroup and
#                                       a cgroup.conf with ConstrainRAMSpace=yes (a job over its --mem ends
#                                       OUT_OF_MEMORY). cgroup/v1 when /sys/fs/cgroup/memory is a v1 memory
#                                       controller, else cgroup/v2 + IgnoreSystemd=yes on a pure cgroup2 host
#                                       (untested); exits 3 when the kernel offers neither. Needs root. The job
#                                       cgroups live in /sys/fs/cgroup/<controller>/slurm_<node>: give each such
#                                       cluster on a machine its own SLURM_CI_NODE. Default 0: no cgroups, no
#                                       enforcement (slurmctld logs "No memory enforcing mechanism configured").
#   SLURM_CI_START_TIMEOUT=30           seconds to wait for the node to become usable
set -euo pipefail

D="${SLURM_CI_DIR:-/tmp/pipe-slurm}"
CTLD_PORT="${SLURM_CI_CTLD_PORT:-18817}"
SLURMD_PORT="${SLURM_CI_SLURMD_PORT:-18818}"
SRUN_PORTS="${SLURM_CI_SRUN_PORTS:-18900-18949}"
NODE="${SLURM_CI_NODE:-$(hostname -s)}"
PARTITION="${SLURM_CI_PARTITION:-ci}"
NPROC="$(nproc)"
CPUS="${SLURM_CI_CPUS:-$NPROC}"
SCHED_PARAMS="${SLURM_CI_SCHED_PARAMS:-sched_interval=1,sched_min_interval=0,batch_sched_delay=0,bf_interval=1,default_queue_depth=1000}"
SLURMD_TIMEOUT="${SLURM_CI_SLURMD_TIMEOUT:-30}"
KILL_INVALID_DEPEND="${SLURM_CI_KILL_INVALID_DEPEND:-0}"
KEEP_STATE="${SLURM_CI_KEEP_STATE:-0}"
CGROUP="${SLURM_CI_CGROUP:-0}"
START_TIMEOUT="${SLURM_CI_START_TIMEOUT:-30}"
CONF="$D/etc/slurm.conf"
SOCKET="$D/run/munge.socket"
HERE="$(cd "$(dirname "$0")" && pwd)"
T0="$(date +%s.%N)"

say() { printf 'slurm-up: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

for bin in munged munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$bin" >/dev/null 2>&1 || { say "error: '$bin' not found: install the Debian packages slurm-wlm and munge"; exit 2; }
done
case "$CPUS" in ''|*[!0-9]*) die "SLURM_CI_CPUS must be a positive integer (got '$CPUS')";; esac
[ "$CPUS" -ge 1 ] || die "SLURM_CI_CPUS must be >= 1"
case "$CGROUP" in 0|1) ;; *) die "SLURM_CI_CGROUP must be 0 or 1 (got '$CGROUP')";; esac

# Which cgroup plugin enforces memory here: v1 when the memory controller is mounted as a v1 hierarchy (hybrid
# layouts, as on Debian 12 without systemd), else v2 when /sys/fs/cgroup is a cgroup2 mount offering memory.
CGROUP_PLUGIN=""
if [ "$CGROUP" = 1 ]; then
  if awk '$2 == "/sys/fs/cgroup/memory" && $3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { found = 1 } END { exit !found }' /proc/mounts; then
    CGROUP_PLUGIN=cgroup/v1
  elif [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
       grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    CGROUP_PLUGIN=cgroup/v2
  else
    say "error: SLURM_CI_CGROUP=1 but this kernel offers no cgroup memory controller (no v1 /sys/fs/cgroup/memory, no cgroup2 'memory' in /sys/fs/cgroup/cgroup.controllers)"
    exit 3
  fi
fi

mkdir -p "$D"
exec 9>"$D/.lock"
flock -w 120 9 || die "another slurm-up/slurm-down holds $D/.lock"

# --- is it already up? ------------------------------------------------------------------------------
# pid_alive <pidfile> <name>: the pid in the file is running and really is <name> (guards against pid reuse).
pid_alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

node_state() { SLURM_CONF="$CONF" timeout 15 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n1 || true; }

MEM_MB="${SLURM_CI_MEM_MB:-$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)}"
# What identifies "the same cluster": every knob except the memory figure, which drifts from run to run.
KNOBS="v1 node=$NODE ports=$CTLD_PORT,$SLURMD_PORT,$SRUN_PORTS partition=$PARTITION cpus=$CPUS sched=$SCHED_PARAMS"
KNOBS="$KNOBS slurmd_timeout=$SLURMD_TIMEOUT kill_invalid_depend=$KILL_INVALID_DEPEND mem=${SLURM_CI_MEM_MB:-auto}"
KNOBS="$KNOBS cgroup=${CGROUP_PLUGIN:-none}"

print_exports() {
  printf 'export SLURM_CONF=%q\n' "$CONF"
  printf 'export PIPE_TEST_SLURM=1\n'
  printf 'export PIPE_SLURM_CI_DIR=%q\n' "$D"
}

if [ "$(cat "$D/etc/knobs" 2>/dev/null)" = "$KNOBS" ] &&
   pid_alive "$D/run/munged.pid" munged && pid_alive "$D/run/slurmctld.pid" slurmctld &&
   pid_alive "$D/run/slurmd.pid" slurmd; then
  case "$(node_state)" in
    idle|mix|alloc|comp) say "already up ($(elapsed) s)"; print_exports; exit 0;;
  esac
fi

# --- (re)start from a clean slate -----------------------------------------------------------------
if [ -f "$D/run/slurmctld.pid" ] || [ -f "$D/run/slurmd.pid" ] || [ -f "$D/run/munged.pid" ]; then
  say "stopping the previous cluster in $D (knobs changed or unhealthy)"
  SLURM_CI_LOCK_HELD=1 bash "$HERE/slurm-down.sh" >&2 || true
fi

mkdir -p "$D/etc" "$D/run" "$D/log" "$D/state" "$D/spool" "$D/munge"
chmod 0755 "$D" "$D/run"          # munged refuses a socket dir that is not o+x
chmod 0700 "$D/munge"
if [ "$KEEP_STATE" != 1 ]; then
  rm -rf "${D:?}/state" "${D:?}/spool"; mkdir -p "$D/state" "$D/spool"
  # Job ids restart at 1: the completion log of the ids' previous holders goes with the state they came from.
  if [ -f "$D/log/jobcomp.txt" ]; then mv -f "$D/log/jobcomp.txt" "$D/log/jobcomp.txt.old"; fi
fi

# munge: our own key and socket, nothing from /etc/munge or /run/munge.
if [ ! -s "$D/munge/munge.key" ]; then
  dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$D/munge/munge.key"
fi
rm -f "$SOCKET" "$SOCKET.lock"
munged --socket="$SOCKET" --key-file="$D/munge/munge.key" --pid-file="$D/run/munged.pid" \
  --log-file="$D/log/munged.log" --seed-file="$D/munge/munged.seed" --num-threads=4 9>&- \
  || die "munged failed to start; see $D/log/munged.log"
munge -S "$SOCKET" -n | unmunge -S "$SOCKET" >/dev/null || die "munge self-test failed; see $D/log/munged.log"

OVERRIDES=""
[ "$CPUS" -gt "$NPROC" ] && OVERRIDES="SlurmdParameters=config_overrides"
SCHED_LINE=""
[ "$SCHED_PARAMS" != none ] && SCHED_LINE="SchedulerParameters=$SCHED_PARAMS"
DEPEND_LINE=""
[ "$KILL_INVALID_DEPEND" = 1 ] && DEPEND_LINE="DependencyParameters=kill_invalid_depend"
# Without cgroups nothing enforces a job's --mem (nor confines its processes); with them the job's memory
# cgroup is limited to its --mem and the kernel's OOM killer ends it there (Slurm: OUT_OF_MEMORY).
if [ -n "$CGROUP_PLUGIN" ]; then
  PROCTRACK=proctrack/cgroup TASK=task/cgroup JOBACCT=jobacct_gather/cgroup
  {
    printf '# Generated by scripts/slurm-up.sh (SLURM_CI_CGROUP=1); regenerated on every (re)start.\n'
    printf 'CgroupPlugin=%s\n' "$CGROUP_PLUGIN"
    printf 'CgroupMountpoint=/sys/fs/cgroup\n'
    # No systemd here (PID 1 is no init system): Slurm 22.05 allows that "for development and testing".
    [ "$CGROUP_PLUGIN" = cgroup/v2 ] && printf 'IgnoreSystemd=yes\n'
    printf 'ConstrainRAMSpace=yes\n'
    printf 'ConstrainSwapSpace=no\n'
    printf 'ConstrainCores=no\n'
    printf 'ConstrainDevices=no\n'
  } >"$D/etc/cgroup.conf.tmp"
  mv "$D/etc/cgroup.conf.tmp" "$D/etc/cgroup.conf"
else
  PROCTRACK=proctrack/linuxproc TASK=task/none JOBACCT=jobacct_gather/none
  rm -f "$D/etc/cgroup.conf"
fi

cat >"$CONF.tmp" <<EOF
# Generated by scripts/slurm-up.sh; regenerated on every (re)start.
ClusterName=pipeci
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SrunPortRange=$SRUN_PORTS
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=$PROCTRACK
TaskPlugin=$TASK
JobAcctGatherType=$JOBACCT
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job with no --mem gets all of the node's memory and jobs run one at a time.
DefMemPerCPU=256
# Impossible requests fail at submit instead of pending forever.
EnforcePartLimits=ALL
$SCHED_LINE
$DEPEND_LINE
$OVERRIDES
MinJobAge=600
KillWait=5
InactiveLimit=0
Waittime=0
ReturnToService=2
SlurmdTimeout=$SLURMD_TIMEOUT
MessageTimeout=10
MaxArraySize=10001
MaxJobCount=100000
MpiDefault=none
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=$NODE Default=NO MaxTime=00:10:00 State=UP
EOF
mv "$CONF.tmp" "$CONF"
printf '%s\n' "$KNOBS" >"$D/etc/knobs"

slurmctld -f "$CONF" -i 9>&- || die "slurmctld failed to start; see $D/log/slurmctld.log"
slurmd -f "$CONF" -N "$NODE" 9>&- || die "slurmd failed to start; see $D/log/slurmd.log"

# --- wait until the node takes jobs -----------------------------------------------------------------
deadline=$(( $(date +%s) + START_TIMEOUT ))
state=""
while :; do
  state="$(node_state)"
  case "$state" in
    idle|mix|alloc|comp) break;;
    *drain*|inval*|fail*)
      say "error: node $NODE is '$state'"; SLURM_CONF="$CONF" scontrol show node -o "$NODE" >&2 || true; break;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
  sleep 0.05
done
case "$state" in
  idle|mix|alloc|comp) ;;
  *)
    say "error: node $NODE not usable after ${START_TIMEOUT}s (sinfo state: '${state:-no answer}')"
    for f in munged slurmctld slurmd; do
      printf -- '--- tail %s\n' "$D/log/$f.log" >&2; tail -n 15 "$D/log/$f.log" >&2 2>/dev/null || true
    done
    exit 1;;
esac

say "up in $(elapsed) s: node $NODE CPUs=$CPUS RealMemory=${MEM_MB}M ports $CTLD_PORT/$SLURMD_PORT, ${CGROUP_PLUGIN:-no cgroups}, dir $D"
print_exports
