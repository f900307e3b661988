#!/usr/bin/env bash
# cluster.sh - start and stop a throw-away single-node Slurm cluster on this
# machine, for tailsim's automated Slurm tests in CI.
#
# Everything comes from Debian's packages (slurm-wlm, munge) and is started by
# this script directly (no systemd). All Slurm state, spool, logs and pid
# files live in STATE_DIR; commands find the cluster through
#   SLURM_CONF=STATE_DIR/slurm.conf
# munged uses Debian's standard /etc/munge/munge.key and /run/munge socket.
#
# Usage:
#   cluster.sh install           install slurm-wlm and munge if missing (root)
#   cluster.sh start STATE_DIR   write STATE_DIR/slurm.conf, start munged,
#                                slurmctld and slurmd, wait until the node is
#                                idle and the scheduler has run (~3 s)
#   cluster.sh stop STATE_DIR    kill the daemons that start recorded (idempotent)
#
# Environment (optional):
#   SLURM_START_TIMEOUT  seconds to wait for the node idle / scheduler (30)
#   SLURMCTLD_PORT / SLURMD_PORT  ports to use (6817 / 6818)
set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MUNGE_PIDFILE=$MUNGE_RUN/munged.pid
START_TIMEOUT=${SLURM_START_TIMEOUT:-30}

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

log() {
    echo "cluster.sh: $*" >&2
}

have_all() {
    local c
    for c in sbatch sinfo slurmctld slurmd munged munge unmunge; do
        command -v "$c" >/dev/null 2>&1 || return 1
    done
}

cmd_install() {
    if have_all; then
        log "slurm and munge already installed"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "slurm/munge missing and not root: cannot install"
    command -v apt-get >/dev/null 2>&1 || die "slurm/munge missing and no apt-get: cannot install"
    log "installing slurm-wlm and munge from Debian"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
    have_all || die "slurm/munge commands still missing after install"
}

# --- helpers -----------------------------------------------------------------

# pid_alive PID NAME: true if PID runs and its command name is NAME.
pid_alive() {
    local pid=$1 name=$2 comm
    [ -n "$pid" ] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$name" ]
}

# recorded_pid STATE NAME: the recorded pid of NAME if it still runs as NAME.
recorded_pid() {
    local pid
    [ -f "$1/pids/$2.pid" ] || return 1
    pid=$(tr -dc '0-9' <"$1/pids/$2.pid")
    pid_alive "$pid" "$2" && echo "$pid"
}

# wait_pidfile FILE NAME: wait (up to 10 s) for a daemon to write its pid file.
wait_pidfile() {
    local file=$1 name=$2 pid
    for _ in $(seq 1 100); do
        if [ -s "$file" ]; then
            pid=$(tr -dc '0-9' <"$file")
            pid_alive "$pid" "$name" && { echo "$pid"; return 0; }
        fi
        sleep 0.1
    done
    return 1
}

ensure_hostname_resolves() {
    local host
    host=$(hostname -s)
    if ! getent hosts "$host" >/dev/null; then
        log "adding $host to /etc/hosts"
        echo "127.0.0.1 $host" >>/etc/hosts
    fi
}

ensure_munge_key() {
    [ -s "$MUNGE_KEY" ] && return 0
    log "creating $MUNGE_KEY"
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile="$MUNGE_KEY"
    elif command -v create-munge-key >/dev/null 2>&1; then
        create-munge-key -f
    else
        die "no $MUNGE_KEY and no mungekey/create-munge-key to create it"
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
}

munge_works() {
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

# Start munged as the munge user unless one already answers; record its pid
# in STATE_DIR only if we started it.
start_munged() {
    local state=$1 pid
    if munge_works; then
        log "reusing the munged already running (not recorded; stop leaves it)"
        return 0
    fi
    ensure_munge_key
    install -d -o munge -g munge -m 0755 "$MUNGE_RUN"
    rm -f "$MUNGE_PIDFILE"
    setpriv --reuid=munge --regid=munge --init-groups \
        munged --force </dev/null >>"$state/log/munged.out" 2>&1 \
        || { cat "$state/log/munged.out" /var/log/munge/munged.log 2>/dev/null >&2 || true
             die "munged failed to start"; }
    pid=$(wait_pidfile "$MUNGE_PIDFILE" munged) || die "munged wrote no pid file"
    echo "$pid" >"$state/pids/munged.pid"
    munge_works || die "munged started (pid $pid) but munge/unmunge fails"
}

# Node resources as slurmd detects them (CPUs, sockets, cores, memory), so the
# node is not drained for a mismatch; fall back to nproc and 90% of MemTotal.
node_resources() {
    local line
    line=$(slurmd -C 2>/dev/null | head -n 1 || true)
    if [[ $line == NodeName=* ]]; then
        # drop NodeName=..., keep CPUs=.. Boards=.. ... RealMemory=..
        echo "$line" | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' '
    else
        local mem
        mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
        echo "CPUs=$(nproc) RealMemory=$mem"
    fi
}

write_conf() {
    local state=$1 host res
    host=$(hostname -s)
    res=$(node_resources)
    cat >"$state/slurm.conf" <<EOF
# Generated by cluster.sh for a throw-away single-node test cluster.
ClusterName=tailsim
SlurmctldHost=$host
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MinJobAge=5
ReturnToService=2
NodeName=$host $res State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# start_slurm_daemon STATE NAME: start slurmctld/slurmd, record its pid.
start_slurm_daemon() {
    local state=$1 name=$2 pid
    "$name" -f "$state/slurm.conf" </dev/null >>"$state/log/$name.out" 2>&1 \
        || { dump_logs "$state"; die "$name failed to start"; }
    pid=$(wait_pidfile "$state/run/$name.pid" "$name") \
        || { dump_logs "$state"; die "$name wrote no pid file"; }
    echo "$pid" >"$state/pids/$name.pid"
}

dump_logs() {
    local state=$1 f
    for f in "$state"/log/* /var/log/munge/munged.log; do
        [ -f "$f" ] || continue
        echo "===== $f" >&2
        tail -n 50 "$f" >&2
    done
}

# recorded_dead STATE: name of a recorded daemon that is no longer running.
recorded_dead() {
    local state=$1 f name
    for f in "$state"/pids/*.pid; do
        [ -f "$f" ] || continue
        name=$(basename "$f" .pid)
        pid_alive "$(tr -dc '0-9' <"$f")" "$name" || { echo "$name"; return 0; }
    done
    return 1
}

wait_idle() {
    local state=$1 host deadline st="" dead
    host=$(hostname -s)
    deadline=$(($(date +%s) + START_TIMEOUT))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        st=$(SLURM_CONF="$state/slurm.conf" sinfo -h -n "$host" -o %T 2>/dev/null || true)
        [ "$st" = idle ] && return 0
        if dead=$(recorded_dead "$state"); then
            dump_logs "$state"
            die "$dead exited while waiting for the node"
        fi
        sleep 0.2
    done
    dump_logs "$state"
    die "node $host not idle after ${START_TIMEOUT}s (state: '${st:-none}')"
}

# port_free PORT: true if nothing listens on PORT on this host.
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports() {
    local port
    for port in "${SLURMCTLD_PORT:-6817}" "${SLURMD_PORT:-6818}"; do
        port_free "$port" || die "port $port is in use (another Slurm cluster?):" \
            "stop it or set SLURMCTLD_PORT/SLURMD_PORT"
    done
}

# main_sched_cycles STATE: how many main scheduling cycles slurmctld has run
# (slurmctld runs its first one about 3 s after it starts).
main_sched_cycles() {
    SLURM_CONF="$1/slurm.conf" sdiag 2>/dev/null | awk '
        /^Main schedule statistics/ { main = 1 }
        main && /Total cycles:/ { print $NF; exit }'
}

# wait_scheduling STATE: wait until the scheduler has run once, so that a job
# submitted right after start starts at once instead of ~3 s later.
wait_scheduling() {
    local state=$1 deadline n
    deadline=$(($(date +%s) + START_TIMEOUT))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        n=$(main_sched_cycles "$state")
        [ -n "$n" ] || return 0 # unknown sdiag format: do not wait
        [ "$n" -ge 1 ] && return 0
        sleep 0.2
    done
    dump_logs "$state"
    die "slurmctld ran no scheduling cycle within ${START_TIMEOUT}s"
}

cmd_start() {
    local state
    [ "$(id -u)" -eq 0 ] || die "start needs root (munged, SlurmdUser=root)"
    have_all || die "slurm/munge not installed: run '$0 install' first"
    mkdir -p "$1"
    state=$(cd "$1" && pwd -P)
    if any_recorded_alive "$state"; then
        die "a cluster from $state is still running: run '$0 stop $state' first"
    fi
    check_ports
    mkdir -p "$state"/{ctld,spool,run,log,pids}
    # a failed start stops whatever it had started
    # shellcheck disable=SC2064
    trap "log 'start failed: stopping what was started'; cmd_stop $(printf %q "$state")" EXIT
    ensure_hostname_resolves
    start_munged "$state"
    write_conf "$state"
    start_slurm_daemon "$state" slurmctld
    start_slurm_daemon "$state" slurmd
    wait_idle "$state"
    wait_scheduling "$state"
    trap - EXIT
    log "cluster up: export SLURM_CONF=$state/slurm.conf"
}

# --- stop --------------------------------------------------------------------

any_recorded_alive() {
    local state=$1 name
    for name in slurmd slurmctld munged; do
        recorded_pid "$state" "$name" >/dev/null && return 0
    done
    return 1
}

# Cancel remaining jobs so no job steps outlive the daemons (best effort).
cancel_jobs() {
    local state=$1 ids
    recorded_pid "$state" slurmctld >/dev/null || return 0
    [ -f "$state/slurm.conf" ] || return 0
    ids=$(SLURM_CONF="$state/slurm.conf" timeout 10 squeue -h -o %A 2>/dev/null || true)
    [ -n "$ids" ] || return 0
    log "cancelling leftover jobs: $(tr "\n" " " <<<"$ids")"
    # shellcheck disable=SC2086
    SLURM_CONF="$state/slurm.conf" timeout 10 scancel $ids >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
        [ -z "$(SLURM_CONF="$state/slurm.conf" squeue -h -t R,CG -o %A 2>/dev/null)" ] && return 0
        sleep 0.1
    done
}

# kill_recorded STATE NAME...: TERM the recorded daemons together, KILL any
# still running after 5 s, then forget their pids.
kill_recorded() {
    local state=$1 name pid left
    shift
    for name in "$@"; do
        if pid=$(recorded_pid "$state" "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for _ in $(seq 1 50); do
        left=""
        for name in "$@"; do
            recorded_pid "$state" "$name" >/dev/null && left="$left $name"
        done
        [ -z "$left" ] && break
        sleep 0.1
    done
    for name in "$@"; do
        if pid=$(recorded_pid "$state" "$name"); then
            log "$name ($pid) ignored TERM: sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$state/pids/$name.pid"
    done
}

cmd_stop() {
    local state=$1
    [ -d "$state" ] || { log "no state dir $state: nothing to stop"; return 0; }
    state=$(cd "$state" && pwd -P)
    cancel_jobs "$state"
    kill_recorded "$state" slurmd slurmctld
    kill_recorded "$state" munged
    log "cluster in $state stopped"
}

main() {
    case "${1:-}" in
        install) cmd_install ;;
        start) [ $# -eq 2 ] || die "usage: $0 start STATE_DIR"; cmd_start "$2" ;;
        stop) [ $# -eq 2 ] || die "usage: $0 stop STATE_DIR"; cmd_stop "$2" ;;
        *) die "usage: $0 install | start STATE_DIR | stop STATE_DIR" ;;
    esac
}

main "$@"
