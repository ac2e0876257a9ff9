# CPU-quota cgroups for the capped load: one per server instance, made directly in cgroupfs
# (cgroup v2, or the v1 hierarchy with the cpu controller). Sourced by run.sh; needs root.

# cg_find: sets CG_BASE, the directory the bench's cgroups go in, and CG_V2 (1: cgroup v2, 0:
# the v1 cpu hierarchy). Fails, with the reason on stderr, where no cgroup with a CPU quota can
# be made.
# shellcheck disable=SC2034 # CG_BASE and CG_V2 are read by loads.sh and cg_make
cg_find() {
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        if ! grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
            echo "cgroup v2 without the cpu controller for the root's children" \
                "(echo +cpu > /sys/fs/cgroup/cgroup.subtree_control enables it)" >&2
            return 1
        fi
        CG_BASE=/sys/fs/cgroup CG_V2=1
        return 0
    fi
    local d
    for d in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpu; do
        if [[ -f "$d/cpu.cfs_quota_us" ]]; then
            CG_BASE=$d CG_V2=0
            return 0
        fi
    done
    echo "no cgroup v2 and no cgroup v1 cpu hierarchy under /sys/fs/cgroup" >&2
    return 1
}

# cg_make BASE NAME QUOTA_US PERIOD_US -> the path of a new cgroup limited to QUOTA_US of CPU
# time per PERIOD_US.
cg_make() {
    local dir="$1/$2"
    mkdir "$dir" || return 1
    if ((CG_V2)); then
        echo "$3 $4" >"$dir/cpu.max" || { rmdir "$dir"; return 1; }
    else
        { echo "$4" >"$dir/cpu.cfs_period_us" && echo "$3" >"$dir/cpu.cfs_quota_us"; } ||
            { rmdir "$dir"; return 1; }
    fi
    echo "$dir"
}

# cg_stat DIR -> "PERIODS THROTTLED": enforcement periods so far, and those in which the quota
# ran out (the same two counters in v1 and v2).
cg_stat() {
    awk '$1 == "nr_periods" { p = $2 } $1 == "nr_throttled" { t = $2 } END { print p + 0, t + 0 }' \
        "$1/cpu.stat"
}

# cg_remove DIR: once its processes are gone (a stopped server's last ones may take a moment).
cg_remove() {
    local i
    for ((i = 0; i < 50; i++)); do
        rmdir "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    warn "cannot remove cgroup $1 (processes left in $1/cgroup.procs?)"
}
