#!/usr/bin/env bash
# Start or stop a private Docker engine for CI and the container tests.
#
#   .ci/docker.sh start   # prints DOCKER_HOST=unix://$RETAIL_DOCKER_DIR/docker.sock
#   .ci/docker.sh stop    # kills it and removes its state
#
# Everything (data root, exec root, pidfile, socket, log) lives under RETAIL_DOCKER_DIR
# (default /tmp/retail-docker) so it never collides with a system daemon, and `stop`
# can remove it all. Both subcommands are idempotent. Needs root (dockerd does).
set -euo pipefail

DIR="${RETAIL_DOCKER_DIR:-/tmp/retail-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/docker.pid"
LOG="$DIR/dockerd.log"
# Kept short: dockerd's exec root holds unix sockets, whose paths are capped at 108 bytes.
EXEC_ROOT="$DIR/x"
START_TIMEOUT="${RETAIL_DOCKER_START_TIMEOUT:-60}"

die() { echo "docker.sh: $*" >&2; exit 1; }

running() {
    [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

engine_ready() {
    DOCKER_HOST="unix://$SOCK" docker info >/dev/null 2>&1
}

start() {
    command -v dockerd >/dev/null || die "dockerd not found: apt-get install -y docker.io"
    command -v docker >/dev/null || die "docker CLI not found: apt-get install -y docker.io"
    if running && engine_ready; then
        echo "DOCKER_HOST=unix://$SOCK"
        return 0
    fi
    mkdir -p "$DIR/data" "$EXEC_ROOT"
    # setsid: the daemon must outlive the shell that started it, and not get its signals.
    setsid dockerd \
        --data-root "$DIR/data" \
        --exec-root "$EXEC_ROOT" \
        --pidfile "$PIDFILE" \
        --host "unix://$SOCK" \
        >"$LOG" 2>&1 </dev/null &
    local waited=0
    until engine_ready; do
        if (( waited >= START_TIMEOUT * 2 )); then
            tail -n 30 "$LOG" >&2 || true
            die "engine not ready after ${START_TIMEOUT}s (log: $LOG)"
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    echo "DOCKER_HOST=unix://$SOCK"
}

stop() {
    if running; then
        local pid
        pid="$(cat "$PIDFILE")"
        kill -TERM "$pid" 2>/dev/null || true
        # dockerd stops its containers (10 s grace each) before exiting; give it time.
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # A killed daemon can leave overlay mounts behind; they must go before the files can.
    if [[ -d "$DIR" ]]; then
        local mounts
        mounts="$(awk -v dir="$DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r)"
        while read -r mnt; do
            [[ -n "$mnt" ]] && umount -l "$mnt" 2>/dev/null || true
        done <<<"$mounts"
        rm -rf "$DIR"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 start|stop (state under \$RETAIL_DOCKER_DIR, default /tmp/retail-docker)" ;;
esac
