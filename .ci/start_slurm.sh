#!/usr/bin/env bash
# Starts a single-node SLURM cluster on this machine for the `slurm` tests (tests/test_slurm_*.py).
#
# Run as root on Debian. Installs `slurm-wlm` and `munge` when missing, writes /etc/slurm/slurm.conf for this
# machine (its CPUs and memory, one partition, no accounting daemon, no cgroups: CI machines and containers have
# no systemd and often no writable cgroup tree), then starts munged, slurmctld and slurmd as plain daemons and
# waits until the node is idle. Running it again while the cluster is up with the same configuration changes
# nothing; with another configuration it restarts the daemons.
#
#   bash .ci/start_slurm.sh            # idempotent; prints `sinfo` at the end
#
# Without accounting `sacct` has no job records, so Snakemake's SLURM plugin must poll with
# `--slurm-status-command squeue`; MinJobAge keeps finished jobs visible to squeue long enough for that.
set -euo pipefail

readonly CONF=/etc/slurm/slurm.conf
readonly LOG_DIR=/var/log/slurm
readonly STATE_DIR=/var/lib/slurm

die() { echo "start_slurm.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons); try: sudo bash $0"

cluster_is_up() {
    # The node must be responding (no `*` suffix) and usable: idle, or running jobs.
    scontrol ping 2>/dev/null | grep -q 'is UP' && sinfo --noheader --Node -o '%t' 2>/dev/null | grep -qxE 'idle|mix|alloc'
}

# --- packages ---------------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "start_slurm.sh: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- munge: authenticates every message between the SLURM commands and daemons -----------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge /var/log/munge /var/lib/munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    # A munged killed uncleanly leaves its pid file and socket behind, and then refuses to start.
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || die "munged did not start; see /var/log/munge/munged.log"
fi

# --- slurm.conf for this machine ---------------------------------------------------------------------------------
host=$(hostname -s)
# `slurmd -C` prints the node line SLURM would detect (CPUs, sockets, cores, threads, RealMemory); using it keeps
# the configured node consistent with the hardware, which slurmd checks when it registers.
node_line=$(slurmd -C | head -n 1)
[[ $node_line == NodeName=* ]] || die "unexpected 'slurmd -C' output: $node_line"

install -d -o slurm -g slurm -m 0755 "$LOG_DIR" "$STATE_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd"
tmp_conf=$(mktemp "$CONF.XXXXXX")
cat >"$tmp_conf" <<EOF
# Written by .ci/start_slurm.sh: a one-node test cluster on $host.
ClusterName=ctnet-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# No cgroups: track job processes through /proc and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Cores and memory are consumable, so jobs run side by side up to the machine's size.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# No slurmdbd: sacct has nothing to report, hence the plugin's squeue status command.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to \`squeue --states=all\` for an hour: the plugin's status polls and the tests read them.
MinJobAge=3600
# Seconds between SIGTERM and SIGKILL at a time limit or scancel: the time training has to write its checkpoint.
KillWait=30
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=60
SlurmdTimeout=60
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
chmod 0644 "$tmp_conf"
if cmp -s "$tmp_conf" "$CONF" && cluster_is_up; then
    rm -f "$tmp_conf"
    echo "start_slurm.sh: cluster already up with this configuration"
    sinfo
    exit 0
fi
mv -f "$tmp_conf" "$CONF"

# --- daemons -----------------------------------------------------------------------------------------------------
# A previous run's daemons (if any) do not know the new configuration; stop them by their pid files, checking the
# process name first, since a pid file left by a killed daemon may name an unrelated process by now.
for daemon in slurmd slurmctld; do
    pid_file=/run/$daemon.pid
    pid=$(cat "$pid_file" 2>/dev/null || true)
    if [[ -n $pid ]] && [[ $(ps -o comm= -p "$pid" 2>/dev/null) == "$daemon" ]]; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pid_file"
done
# -c: start without the saved job state of an earlier cluster; -i: ignore errors reading it.
/usr/sbin/slurmctld -c -i
/usr/sbin/slurmd

for _ in $(seq 60); do
    cluster_is_up && break
    # A node that registered as DOWN (e.g. after an unclean stop) is brought back explicitly.
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 1
done
cluster_is_up || die "cluster did not come up within 60 s; see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
scontrol ping
sinfo
