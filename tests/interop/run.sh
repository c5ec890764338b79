#!/usr/bin/env bash
# Interoperability suite: real RocketMQ clients (Java 5.3.x and 4.9.x, Go v2, stock mqadmin)
# against a system under test.
#
#   tests/interop/run.sh --target ferrocket|java [--quick] [--only REGEX] [--keep]
#
#   --target ferrocket  start "$FERROCKET_BIN standalone -c <dir>/broker.conf --namesrv-port N"
#                       (FERROCKET_BIN defaults to target/debug/ferrocket under the repo root)
#   --target java       start the reference Apache RocketMQ 5.3.x name server + broker (two JVMs)
#   --quick             only the Java 5.3.x client scenarios and the Go client
#                       (skips the Java 4.9.x client and the mqadmin commands)
#   --only REGEX        only scenarios whose name matches REGEX (bash =~ / java.util.regex / Go regexp)
#   --keep              keep the temporary directory even when everything passed
#   --build-only        only build/fetch everything any target needs (used by .ci/install-deps)
#
# Prints "PASS name" / "FAIL name: reason" per scenario and, last, "N passed, M failed".
# Exit code 0 iff M == 0. Run .ci/install-deps once first (fetches Maven artifacts, Go modules).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# Versions under test. Keep in sync with .ci/install-deps and the poms.
JAVA_CLIENT_VERSIONS_FULL="5.3.3 4.9.8"
ROCKETMQ_SERVER_VERSION=5.3.3 # reference broker/namesrv and mqadmin (rocketmq-tools)
BROKER_MAX_MESSAGE_SIZE=65536 # must match Scenarios.BROKER_MAX_MESSAGE_SIZE

TARGET=""
QUICK=0
ONLY=""
KEEP=0
BUILD_ONLY=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) TARGET=${2:-}; shift 2 ;;
        --target=*) TARGET=${1#--target=}; shift ;;
        --quick) QUICK=1; shift ;;
        --only) ONLY=${2:-}; shift 2 ;;
        --only=*) ONLY=${1#--only=}; shift ;;
        --keep) KEEP=1; shift ;;
        --build-only) BUILD_ONLY=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$TARGET" in
    ferrocket|java) ;;
    "") [[ $BUILD_ONLY == 1 ]] || { echo "usage: $0 --target ferrocket|java [--quick] [--only REGEX] [--keep]" >&2; exit 2; } ;;
    *) echo "usage: $0 --target ferrocket|java [--quick] [--only REGEX] [--keep]" >&2; exit 2 ;;
esac

if [[ $QUICK == 1 && $BUILD_ONLY == 0 ]]; then
    JAVA_CLIENT_VERSIONS="5.3.3"
else
    JAVA_CLIENT_VERSIONS=$JAVA_CLIENT_VERSIONS_FULL
fi

START_TS=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferrocket-interop.XXXXXX")
RESULTS="$WORK/results.txt"
: >"$RESULTS"
RUN_ID="r$(date +%s | tail -c 6)$RANDOM"
PIDS=()           # every process we started (target processes)
TARGET_PIDS=()    # current target processes, in stop order
BROKER_PID=""
NAMESRV_PID=""
FERROCKET_PID=""

log() { echo "# $*"; }

result() { # "PASS name" | "FAIL name: reason"
    echo "$1" | tee -a "$RESULTS"
}

# ---------------------------------------------------------------- process handling

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

stop_pid() { # pid grace_seconds
    local pid=$1 grace=$2 i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    log "pid $pid still alive ${grace}s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

stop_all() {
    local p
    for p in "${PIDS[@]}"; do
        stop_pid "$p" 10
    done
    PIDS=()
}

FINISHED=0
cleanup() {
    local rc=$?
    stop_all
    if [[ $FINISHED == 0 ]]; then
        # Interrupted, or --build-only: keep the work dir only if something failed.
        if [[ $KEEP == 0 && $rc == 0 ]]; then
            rm -rf "$WORK"
        else
            echo "# logs and data kept in $WORK" >&2
        fi
    elif [[ $KEEP == 0 ]] && ! grep -q '^FAIL ' "$RESULTS"; then
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- build

needs_build() { # stamp paths... : true when the stamp is missing or older than any path
    local stamp=$1
    shift
    [[ -f "$stamp" ]] || return 0
    [[ -n "$(find "$@" -newer "$stamp" -print -quit 2>/dev/null)" ]]
}

MVN=(mvn -q -B)
build_fail() {
    result "FAIL build/$1: $2 (see $WORK/build.log)"
    tail -n 30 "$WORK/build.log" | sed 's/^/#   /'
    finish
}

build() {
    local v out
    command -v java >/dev/null || build_fail java "java not on PATH"
    command -v mvn >/dev/null || build_fail java "mvn not on PATH"
    command -v go >/dev/null || build_fail go "go not on PATH"
    for v in $JAVA_CLIENT_VERSIONS; do
        out="$HERE/java/target/client-$v"
        if [[ ! -f "$out/lib/rocketmq-client-$v.jar" ]] ||
            needs_build "$out/classes/io/ferrocket/interop/Main.class" "$HERE/java/src" "$HERE/java/pom.xml"; then
            log "building Java scenarios for rocketmq-client $v"
            "${MVN[@]}" -f "$HERE/java/pom.xml" -Drocketmq.client.version="$v" \
                compile dependency:copy-dependencies >>"$WORK/build.log" 2>&1 \
                || build_fail "java-$v" "maven build failed"
            touch "$out/classes/io/ferrocket/interop/Main.class"
        fi
    done
    if [[ $QUICK == 0 ]] && needs_build "$HERE/mqadmin/target/.built" "$HERE/mqadmin/pom.xml"; then
        log "fetching mqadmin (rocketmq-tools $ROCKETMQ_SERVER_VERSION) classpath"
        rm -rf "$HERE/mqadmin/target/lib"
        "${MVN[@]}" -f "$HERE/mqadmin/pom.xml" dependency:copy-dependencies \
            -DoutputDirectory="$HERE/mqadmin/target/lib" >>"$WORK/build.log" 2>&1 \
            || build_fail mqadmin "maven dependency:copy-dependencies failed"
        touch "$HERE/mqadmin/target/.built"
    fi
    if [[ $TARGET != ferrocket ]] && needs_build "$HERE/javabroker/target/.built" "$HERE/javabroker/pom.xml"; then
        log "fetching RocketMQ $ROCKETMQ_SERVER_VERSION broker + namesrv classpath"
        rm -rf "$HERE/javabroker/target/lib"
        "${MVN[@]}" -f "$HERE/javabroker/pom.xml" dependency:copy-dependencies \
            -DoutputDirectory="$HERE/javabroker/target/lib" >>"$WORK/build.log" 2>&1 \
            || build_fail javabroker "maven dependency:copy-dependencies failed"
        touch "$HERE/javabroker/target/.built"
    fi
    log "building Go scenarios"
    (cd "$HERE/go" && go build -o "$HERE/go/target/gointerop" .) >>"$WORK/build.log" 2>&1 \
        || build_fail go "go build failed"
}

# ---------------------------------------------------------------- ports and config

pick_ports() { # prints "N B": N free; B-2, B and B+1 free (B+1 is the Java broker's HA port)
    python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
rng = random.SystemRandom()
while True:
    n = rng.randrange(20000, 40000)
    if free(n):
        break
while True:
    b = rng.randrange(40002, 60000)
    if all(free(p) for p in (b - 2, b, b + 1)):
        break
print(n, b)
EOF
}

write_configs() {
    mkdir -p "$WORK/store"
    {
        echo "brokerClusterName=DefaultCluster"
        echo "brokerName=broker-a"
        echo "brokerId=0"
        echo "listenPort=$BPORT"
        echo "brokerIP1=127.0.0.1"
        echo "storePathRootDir=$WORK/store"
        echo "autoCreateTopicEnable=true"
        echo "maxMessageSize=$BROKER_MAX_MESSAGE_SIZE"
        echo "flushDiskType=ASYNC_FLUSH"
        # feature scenarios (Features.java): SQL92 filters, fast transaction check-back
        echo "enablePropertyFilter=true"
        echo "transactionTimeOut=2000"
        echo "transactionCheckInterval=3000"
    } >"$WORK/broker.conf"
    if [[ $TARGET == java ]]; then
        {
            echo "namesrvAddr=127.0.0.1:$NPORT"
            echo "bindAddress=127.0.0.1"
            echo "storePathCommitLog=$WORK/store/commitlog"
            echo "mappedFileSizeCommitLog=67108864"
            echo "brokerRole=ASYNC_MASTER"
        } >>"$WORK/broker.conf"
        {
            echo "listenPort=$NPORT"
            echo "bindAddress=127.0.0.1"
        } >"$WORK/namesrv.conf"
    fi
}

# ---------------------------------------------------------------- target lifecycle

# JVM flags of the reference broker/namesrv: small heaps, and the module opens RocketMQ's mmap
# code needs on Java 9+. user.home moves RocketMQ's logs (~/logs/rocketmqlogs) into $WORK.
SERVER_JOPTS=(-Xms256m -Xmx512m -XX:MaxDirectMemorySize=512m -XX:+UseG1GC
    --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-exports java.base/jdk.internal.ref=ALL-UNNAMED)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ports() { # timeout_seconds ports...
    local timeout=$1 deadline p ok pid
    shift
    deadline=$(($(date +%s) + timeout))
    while (($(date +%s) < deadline)); do
        ok=1
        for p in "$@"; do
            port_open "$p" || { ok=0; break; }
        done
        [[ $ok == 1 ]] && return 0
        for pid in "${TARGET_PIDS[@]}"; do
            alive "$pid" || { START_ERROR="process $pid exited during start-up"; return 1; }
        done
        sleep 0.2
    done
    START_ERROR="ports $* not accepting connections after ${timeout}s"
    return 1
}

start_java_broker() {
    mkdir -p "$WORK/java-home"
    ROCKETMQ_HOME="$WORK/java-home" java "${SERVER_JOPTS[@]}" \
        -Duser.home="$WORK/java-home" -Drocketmq.home.dir="$WORK/java-home" \
        -cp "$HERE/javabroker/target/lib/*" org.apache.rocketmq.broker.BrokerStartup \
        -c "$WORK/broker.conf" >>"$WORK/broker.out" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
}

start_target() { # first|restart
    local t0 timeout
    t0=$(date +%s)
    TARGET_PIDS=()
    if [[ $TARGET == ferrocket ]]; then
        timeout=10
        if [[ ! -x "$FERROCKET_BIN" ]]; then
            START_ERROR="FERROCKET_BIN=$FERROCKET_BIN is not an executable file (cargo build first?)"
            return 1
        fi
        echo "=== start ($1) $(date -u +%FT%TZ)" >>"$WORK/ferrocket.log"
        "$FERROCKET_BIN" standalone -c "$WORK/broker.conf" --namesrv-port "$NPORT" \
            >>"$WORK/ferrocket.log" 2>&1 &
        FERROCKET_PID=$!
        PIDS+=("$FERROCKET_PID")
        TARGET_PIDS=("$FERROCKET_PID")
    else
        timeout=60
        if [[ $1 == first ]]; then
            # Own user.home: with the broker jar on its classpath the name server picks up
            # rmq.broker.logback.xml and would write into the broker's log files.
            mkdir -p "$WORK/namesrv-home"
            ROCKETMQ_HOME="$WORK/namesrv-home" java "${SERVER_JOPTS[@]}" \
                -Duser.home="$WORK/namesrv-home" -Drocketmq.home.dir="$WORK/namesrv-home" \
                -cp "$HERE/javabroker/target/lib/*" org.apache.rocketmq.namesrv.NamesrvStartup \
                -c "$WORK/namesrv.conf" >>"$WORK/namesrv.out" 2>&1 &
            NAMESRV_PID=$!
            PIDS+=("$NAMESRV_PID")
        fi
        start_java_broker
        TARGET_PIDS=("$BROKER_PID" "$NAMESRV_PID")
    fi
    wait_ports "$timeout" "$NPORT" "$BPORT" "$((BPORT - 2))" || return 1
    log "ports open after $(($(date +%s) - t0)) s"
    # Ready = the name server lists the broker (clients and mqadmin ask it first).
    if ! START_ERROR=$(python3 "$HERE/lib/nsprobe.py" "127.0.0.1:$NPORT" "127.0.0.1:$BPORT" \
        $((timeout - ($(date +%s) - t0) + 1))); then
        return 1
    fi
    log "$TARGET target up ($1) in $(($(date +%s) - t0)) s: namesrv 127.0.0.1:$NPORT, broker 127.0.0.1:$BPORT"
}

# Stops the broker side. For a restart the Java broker gets a longer grace period: its shutdown
# hook (which persists consumer offsets) takes ~15 s in 5.3.x, mostly waiting for POP services.
stop_broker_side() { # grace_seconds
    if [[ $TARGET == ferrocket ]]; then
        stop_pid "$FERROCKET_PID" "$1"
    else
        stop_pid "$BROKER_PID" "$1"
    fi
}

stop_target() {
    local pid
    for pid in "${TARGET_PIDS[@]}"; do
        stop_pid "$pid" 10
    done
}

target_logs() {
    if [[ $TARGET == ferrocket ]]; then
        echo "# ---- tail of $WORK/ferrocket.log"
        tail -n 40 "$WORK/ferrocket.log" 2>/dev/null | sed 's/^/#   /'
    else
        echo "# ---- tail of broker stdout and broker.log"
        grep -v '|-' "$WORK/broker.out" 2>/dev/null | tail -n 10 | sed 's/^/#   /'
        tail -n 30 "$WORK/java-home/logs/rocketmqlogs/broker.log" 2>/dev/null | sed 's/^/#   /'
        echo "# ---- tail of namesrv stdout"
        grep -v '|-' "$WORK/namesrv.out" 2>/dev/null | tail -n 10 | sed 's/^/#   /'
    fi
}

# ---------------------------------------------------------------- running scenario programs

matches() { [[ -z "$ONLY" || "$1" =~ $ONLY ]]; }

# Runs a scenario program; its PASS/FAIL lines are recorded, everything else goes to its log.
run_program() { # part_name timeout_seconds cmd...
    local part=$1 secs=$2 out="$WORK/$1.out" shown="$WORK/$1.shown" rc pid n
    shift 2
    : >"$shown"
    timeout -k 10 "$secs" "$@" >"$out" 2>"$WORK/$part.err" &
    pid=$!
    PIDS+=("$pid")
    # Show result lines while the program runs (display only) ...
    tail -n +1 -f --pid="$pid" "$out" 2>/dev/null | while IFS= read -r line; do
        case "$line" in
            "PASS "* | "FAIL "*) echo "$line" | tee -a "$shown" ;;
        esac
    done
    wait "$pid"
    rc=$?
    # ... and record them from the finished output file (the source of truth); print any line the
    # live view missed.
    grep -aE '^(PASS|FAIL) ' "$out" >"$WORK/$part.results" || true
    cat "$WORK/$part.results" >>"$RESULTS"
    n=$(wc -l <"$shown")
    tail -n +$((n + 1)) "$WORK/$part.results"
    if [[ $rc != 0 ]] && ! grep -q '^FAIL ' "$WORK/$part.results"; then
        if [[ $rc == 124 || $rc == 137 ]]; then
            result "FAIL $part: timed out after ${secs}s (see $out)"
        else
            result "FAIL $part: exited with code $rc (see $WORK/$part.err)"
            tail -n 15 "$WORK/$part.err" | sed 's/^/#   /'
        fi
    fi
    return 0
}

# JVM flags for short-lived client JVMs.
CLIENT_JOPTS=(-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)

run_java_clients() { # phase
    local v home
    for v in $JAVA_CLIENT_VERSIONS; do
        home="$WORK/client-$v"
        mkdir -p "$home"
        run_program "java-$v-phase$1" 480 java "${CLIENT_JOPTS[@]}" \
            -Duser.home="$home" -Drocketmq.client.localOffsetStoreDir="$home/offsets" \
            -cp "$HERE/java/target/client-$v/classes:$HERE/java/target/client-$v/lib/*" \
            io.ferrocket.interop.Main --namesrv "127.0.0.1:$NPORT" --label "$v" --run-id "$RUN_ID" \
            --phase "$1" --state-dir "$WORK" ${ONLY:+--only "$ONLY"}
    done
}

run_go_client() {
    run_program go 120 "$HERE/go/target/gointerop" -namesrv "127.0.0.1:$NPORT" -run-id "$RUN_ID" \
        -log "$WORK/go-client.log" ${ONLY:+-only "$ONLY"}
}

# ---------------------------------------------------------------- mqadmin

MQADMIN_OUT=""
mqadmin() { # args... ; output in $MQADMIN_OUT, returns the exit code
    local rc
    MQADMIN_OUT=$(timeout -k 5 60 java "${CLIENT_JOPTS[@]}" -Duser.home="$WORK/mqadmin-home" \
        -cp "$HERE/mqadmin/target/lib/*" org.apache.rocketmq.tools.command.MQAdminStartup "$@" 2>&1)
    rc=$?
    {
        echo "\$ mqadmin $* (exit $rc)"
        echo "$MQADMIN_OUT"
    } >>"$WORK/mqadmin.log"
    return $rc
}

MQ_NAME=""
mq_fail() { # reason
    result "FAIL mqadmin/$MQ_NAME: $1"
    echo "$MQADMIN_OUT" | tail -n 12 | sed 's/^/#   /'
    return 1
}

# mqadmin exits 0 even when a command fails (it prints the exception), so every check below is
# on the output.
mq_run() { # args... ; fails the current check if the JVM itself failed
    mqadmin "$@" || mq_fail "mqadmin $1 exit code $?"
}

mq_expect_fixed() { # string description
    grep -qF -- "$1" <<<"$MQADMIN_OUT" || mq_fail "${2:-output lacks '$1'}"
}

mq_expect_line() { # extended-regex description
    grep -qE -- "$1" <<<"$MQADMIN_OUT" || mq_fail "${2:-no output line matching /$1/}"
}

mq_updateTopic() {
    # -c: the tool asks the name server for the cluster's masters (106), then sends 17 to each.
    mq_run updateTopic -n "$NS" -c DefaultCluster -t "$ADMIN_TOPIC" -r 4 -w 4 &&
        mq_expect_fixed "create topic to 127.0.0.1:$BPORT success." &&
        mq_expect_fixed "TopicConfig [topicName=$ADMIN_TOPIC, readQueueNums=4, writeQueueNums=4, perm=RW-"
}

mq_topicList() {
    mq_run topicList -n "$NS" &&
        { grep -qxF "$ADMIN_TOPIC" <<<"$MQADMIN_OUT" || mq_fail "topic $ADMIN_TOPIC not listed"; }
}

mq_topicRoute() {
    local line
    mq_run topicRoute -n "$NS" -t "$ADMIN_TOPIC" || return 1
    for line in '"brokerName":"broker-a"' '"cluster":"DefaultCluster"' "\"127.0.0.1:$BPORT\"" \
        '"readQueueNums":4' '"writeQueueNums":4' '"perm":6'; do
        mq_expect_fixed "$line" "route JSON lacks $line" || return 1
    done
}

mq_topicStatus() {
    # One message to queue 1 (stock "mqadmin sendMessage"); then all 4 queues must be listed with
    # min offset 0, and max offset 1 for queue 1, 0 for the others.
    local line
    mq_run sendMessage -n "$NS" -t "$ADMIN_TOPIC" -p "hello from mqadmin" -c TagA -k key1 -b broker-a -i 1 &&
        mq_expect_line '^broker-a +1 +SEND_OK +[0-9A-F]{32}' "sendMessage did not print 'broker-a 1 SEND_OK <msgId>'" &&
        mq_run topicStatus -n "$NS" -t "$ADMIN_TOPIC" || return 1
    for line in '^#Broker Name +#QID +#Min Offset +#Max Offset +#Last Updated' \
        '^broker-a +0 +0 +0( |$)' '^broker-a +1 +0 +1 +[0-9]{4}-[0-9]{2}-[0-9]{2} ' \
        '^broker-a +2 +0 +0( |$)' '^broker-a +3 +0 +0( |$)'; do
        mq_expect_line "$line" || return 1
    done
    [[ $(grep -cE '^broker-a ' <<<"$MQADMIN_OUT") == 4 ]] || mq_fail "expected exactly 4 queue lines"
}

mq_clusterList() {
    mq_run clusterList -n "$NS" &&
        mq_expect_line '^#Cluster Name +#Broker Name +#BID +#Addr +#Version' &&
        mq_expect_line "^DefaultCluster +broker-a +0 +127\.0\.0\.1:$BPORT +" \
            "no 'DefaultCluster broker-a 0 127.0.0.1:$BPORT' line"
}

run_mqadmin() {
    local any=0
    NS="127.0.0.1:$NPORT"
    ADMIN_TOPIC="fr_admin_$RUN_ID"
    # The commands build on each other (create, list, route, send + status): run all or none.
    for MQ_NAME in updateTopic topicList topicRoute topicStatus clusterList; do
        matches "mqadmin/$MQ_NAME" && any=1
    done
    [[ $any == 1 ]] || return 0
    mkdir -p "$WORK/mqadmin-home"
    for MQ_NAME in updateTopic topicList topicRoute topicStatus clusterList; do
        if "mq_$MQ_NAME"; then
            result "PASS mqadmin/$MQ_NAME"
        fi
    done
}

# ---------------------------------------------------------------- main

finish() {
    local passed failed
    stop_all
    FINISHED=1
    passed=$(grep -c '^PASS ' "$RESULTS")
    failed=$(grep -c '^FAIL ' "$RESULTS")
    if [[ $failed != 0 ]]; then
        target_logs
    fi
    if [[ $TARGET == java && -n "$NPORT" ]]; then
        log "request codes the reference server received during this run (code x count):"
        python3 "$HERE/lib/traffic.py" "$WORK"/namesrv-home/logs/rocketmqlogs/*traffic*.log \
            "$WORK"/java-home/logs/rocketmqlogs/*traffic*.log | sed \
            -e "s/^port $NPORT:/namesrv    :/" -e "s/^port $BPORT:/broker B   :/" \
            -e "s/^port $((BPORT - 2)):/broker B-2 :/" -e 's/^/#   /'
    fi
    if [[ $KEEP == 1 || $failed != 0 ]]; then
        log "logs and data kept in $WORK"
    fi
    log "target $TARGET, wall time $(($(date +%s) - START_TS)) s"
    echo "$passed passed, $failed failed"
    [[ $failed == 0 ]] && exit 0
    exit 1
}

NPORT=""
BPORT=""
FERROCKET_BIN=${FERROCKET_BIN:-target/debug/ferrocket}
[[ "$FERROCKET_BIN" == /* ]] || FERROCKET_BIN="$ROOT/$FERROCKET_BIN"

if [[ $BUILD_ONLY == 1 ]]; then
    log "building everything the interop suite needs (java clients: $JAVA_CLIENT_VERSIONS)"
    build
    log "build done"
    exit 0
fi
log "interop suite: target $TARGET, java clients: $JAVA_CLIENT_VERSIONS, run id $RUN_ID, work dir $WORK"
build
read -r NPORT BPORT < <(pick_ports)
write_configs
START_ERROR=""
if ! start_target first; then
    result "FAIL $TARGET/start: $START_ERROR"
    finish
fi

if [[ $QUICK == 0 ]]; then
    run_mqadmin
fi
run_java_clients 1
if matches "go-client/"; then
    run_go_client
fi

NEED_RESTART=0
for v in $JAVA_CLIENT_VERSIONS; do
    matches "java-$v/offsets-survive-restart" && NEED_RESTART=1
done
if [[ $NEED_RESTART == 1 ]]; then
    log "restarting the broker (same data dir)"
    if [[ $TARGET == java ]]; then
        stop_broker_side 40
    else
        stop_broker_side 10
    fi
    if start_target restart; then
        run_java_clients 2
    else
        result "FAIL $TARGET/restart: $START_ERROR"
    fi
fi

stop_target
finish
