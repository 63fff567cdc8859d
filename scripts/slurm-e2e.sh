#!/usr/bin/env bash
# End-to-end check against a real Slurm on this one machine (Debian/Ubuntu, as root; not part
# of the default CI: it installs system packages and starts daemons).
#
# It installs Slurm and munge from the system package manager, starts munged, slurmctld and
# slurmd with a minimal single-node configuration, runs a small horizon sweep on one machine
# for reference, writes the same sweep's job-array scripts with `ccdni slurm`, submits them,
# requeues one array task while it trains (Slurm sends it SIGTERM; ccdni writes its checkpoints
# and exits; the task restarts later and goes on from them), waits for the aggregate job, and
# checks that the aggregated results equal the single-machine run: metrics.csv but for the
# seconds column, summary.json but for the seconds, sweep.json, and every model bit for bit.
#
# Usage: scripts/slurm-e2e.sh            (from the repository root)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ccdni-slurm-e2e.XXXXXX)
host=$(hostname)
say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "run as root: it installs packages and starts daemons" >&2
    exit 2
fi

say "installing slurm-wlm and munge"
export DEBIAN_FRONTEND=noninteractive
command -v slurmctld >/dev/null && command -v munged >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }
slurmctld -V

say "starting munged"
for d in /run/munge /var/log/munge /var/lib/munge /etc/munge; do
    mkdir -p "$d" && chown munge:munge "$d"
done
[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- munged
munge -n | unmunge | grep -q "STATUS: *Success" && echo "munge works"

say "starting slurmctld and slurmd on $host"
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=ccdni-e2e
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
sleep 1
slurmctld
slurmd
stop() {
    say "stopping the daemons"
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 60); do
    sinfo -h -o %T | grep -q idle && break
    sleep 1
done
sinfo

say "building ccdni"
cd "$repo"
cargo build --release -q
ccdni="$repo/target/release/ccdni"

job=(sweep --task reach --horizons 1,5 --seeds 2 --epochs 60 --set reach.test_samples=1000)
say "the sweep on one machine: ccdni ${job[*]}"
"$ccdni" "${job[@]}" --out "$work/single" >"$work/single.log" 2>&1
tail -n 4 "$work/single.log"

say "the same sweep as a Slurm job array of 3 tasks"
"$ccdni" slurm --out "$work/shared" --tasks 3 --cpus 1 -- "${job[@]}"
cat "$work/shared/slurm/array.sbatch"
submitted=$(bash "$work/shared/slurm/submit.sh")
echo "$submitted"
array=$(echo "$submitted" | awk '{print $4}')

say "requeueing array task ${array}_1 while it trains (as a preemption would)"
for _ in $(seq 300); do
    state=$(squeue -h -r -j "${array}_1" -o %T 2>/dev/null || true)
    if [ "$state" = RUNNING ] && ls "$work"/shared/runs/*/checkpoint.safetensors >/dev/null 2>&1; then
        break
    fi
    sleep 0.5
done
squeue -r
scontrol requeue "${array}_1"
sleep 2
squeue -r

say "waiting for the array and the aggregate job"
for _ in $(seq 900); do
    [ -z "$(squeue -h)" ] && break
    sleep 2
done
squeue -r
echo "--- log of the requeued task ${array}_1:"
cat "$work/shared/slurm/logs/${array}_1.out"
echo "--- aggregate log:"
tail -n 6 "$work"/shared/slurm/logs/aggregate_*.out

say "comparing with the single-machine sweep"
strip_seconds() { grep -v seconds "$1" | sed 's/,[^,]*$//'; }
status=0
for f in metrics.csv summary.json sweep.json; do
    if diff <(strip_seconds "$work/single/$f") <(strip_seconds "$work/shared/$f") >/dev/null; then
        echo "$f: identical"
    else
        echo "$f: DIFFERS"
        status=1
    fi
done
n=0
for run in "$work"/single/runs/*/; do
    name=$(basename "$run")
    if cmp -s "$run/model.safetensors" "$work/shared/runs/$name/model.safetensors"; then
        n=$((n + 1))
    else
        echo "$name: the models DIFFER"
        status=1
    fi
done
echo "$n models identical bit for bit"
grep -q "interrupted" "$work/shared/slurm/logs/${array}_1.out" &&
    echo "the requeued task was interrupted and went on from its checkpoints" ||
    { echo "the requeued task shows no interruption"; status=1; }
[ "$status" = 0 ] && echo "SLURM END-TO-END: OK ($work)" || echo "SLURM END-TO-END: FAILED ($work)"
exit "$status"
