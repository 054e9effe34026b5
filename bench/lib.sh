# Shared by bench/run and bench/scale (sourced, not run). Expects `set -euo pipefail` and
# the current directory at the repository root.

# SIHAI_BIN: the sihai binary measured (another build, e.g. scripts/compare-release's
# target/compare/sihai-old, for a before/after on one machine; with SKIP_BUILD=1).
BIN=${SIHAI_BIN:-target/release/sihai}
GEN=target/release/examples/gen_corpus
CONFIG=${CONFIG:-config/sihai.toml}
SEED=${SEED:-1}
IMPORT_TIMEOUT=${IMPORT_TIMEOUT:-900}

say() { printf '%s\n' "$*"; }
die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}
now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ensure_tools CMD:DEBIAN_PACKAGE ...: installs the packages of missing commands with apt-get.
ensure_tools() {
    local missing=() pair cmd
    for pair in "$@"; do
        cmd=${pair%%:*}
        command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("${pair#*:}")
    done
    [[ ${#missing[@]} == 0 ]] && return 0
    say "== installing ${missing[*]} (apt-get)"
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        say "== build (cargo build --release --bins --examples)"
        nice cargo build --release --bins --examples --quiet
    fi
    [[ -x $BIN && -x $GEN ]] || die "$BIN or $GEN missing"
}

machine() {
    say "source: $(git describe --always --dirty 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)'); binary $BIN ($("$BIN" --version 2>/dev/null)); $(rustc --version)"
    say "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
}

# PIDs this script started; stopped (by PID) at exit.
STARTED=()
stop_pid() { # stop_pid PID: SIGTERM, wait up to 60 s, then SIGKILL
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}
forget() { # forget PID: a process that ended, no longer ours to stop
    local keep=() pid
    for pid in "${STARTED[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
    STARTED=("${keep[@]}")
}
stop_started() {
    local pid
    for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
    STARTED=()
}

# free_port BASE: the first port from BASE on that nothing on 127.0.0.1 accepts.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

# make_site DIR COUNT PORT: a corpus of COUNT articles imported into DIR/data, with
# DIR/sihai.toml (the shipped config, data_dir and listen changed). Sets IMPORT_S, JSONL_B,
# STORE_B.
make_site() {
    local dir=$1 n=$2 port=$3
    mkdir -p "$dir"
    sed -e "s|^data_dir = .*|data_dir = \"$dir/data\"|" -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" \
        "$CONFIG" >"$dir/sihai.toml"
    grep -q "^data_dir = \"$dir/data\"" "$dir/sihai.toml" && grep -q "^listen = \"127.0.0.1:$port\"" "$dir/sihai.toml" ||
        die "could not set data_dir and listen in $dir/sihai.toml"
    # wrk is one client address with up to 128 connections: lift the per-address cap (64)
    # for a load test; a build before the cap (a before/after run) does not know the key.
    cp "$dir/sihai.toml" "$dir/sihai.toml.plain"
    sed -i "s|^listen = .*|&\nmax_connections_per_address = 100000|" "$dir/sihai.toml"
    "$BIN" --config "$dir/sihai.toml" check-config >/dev/null 2>&1 || mv "$dir/sihai.toml.plain" "$dir/sihai.toml"
    "$BIN" --config "$dir/sihai.toml" check-config >/dev/null || die "$dir/sihai.toml is invalid"
    local t0 t1
    t0=$(now_ns)
    "$GEN" --count "$n" --seed "$SEED" --config "$CONFIG" --out "$dir/corpus.jsonl"
    t1=$(now_ns)
    JSONL_B=$(stat -c %s "$dir/corpus.jsonl")
    say "corpus: $n articles, $(calc %.1f "$JSONL_B / 1048576") MiB JSONL in $(calc %.1f "($t1 - $t0) / 1e9") s"
    t0=$(now_ns)
    timeout "$IMPORT_TIMEOUT" "$BIN" --config "$dir/sihai.toml" import "$dir/corpus.jsonl" >"$dir/import.log" 2>&1 ||
        die "import of $n articles failed or took over $IMPORT_TIMEOUT s: $(tail -3 "$dir/import.log")"
    t1=$(now_ns)
    IMPORT_S=$(calc %.2f "($t1 - $t0) / 1e9")
    STORE_B=$(du -sb "$dir/data" | cut -f1)
    say "import: $IMPORT_S s ($(calc %.0f "$n / $IMPORT_S") articles/s), store $(calc %.1f "$STORE_B / 1048576") MiB = $(calc %.2f "$STORE_B / $JSONL_B") x JSONL"
}

# start_sihai DIR: starts `sihai --config DIR/sihai.toml serve` (log in DIR/serve.log);
# sets SIHAI_PID and SIHAI_T0 (launch time, ns).
start_sihai() {
    local dir=$1
    SIHAI_T0=$(now_ns)
    "$BIN" --config "$dir/sihai.toml" serve >>"$dir/serve.log" 2>&1 &
    SIHAI_PID=$!
    STARTED+=("$SIHAI_PID")
}

# wait_status URL STATUS TIMEOUT_S [curl args...]: polls until URL answers STATUS.
wait_status() {
    local url=$1 want=$2 timeout=$3 deadline code
    shift 3
    deadline=$(($(date +%s) + timeout))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)
        [[ $code == "$want" ]] && return 0
        (($(date +%s) < deadline)) || return 1
        sleep 0.005
    done
}

# proc_kib PID FIELD: VmHWM / VmRSS of a process, KiB.
proc_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# cpu_ticks PID: user + system clock ticks of the whole process (all threads).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# wrk prints one RESULT line through this script (no per-request Lua: full speed).
wrk_done_lua() {
    cat <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF
}

# every_feed_lua: a wrk script that requests, round robin, every feed (the slugs given
# after `--`) in every format and coding, plus the pages; then prints its RESULT line.
every_feed_lua() {
    cat <<'EOF'
-- Every feed in every format and coding, plus the pages, round robin.
local reqs, i = {}, 0
function init(args)
  for _, slug in ipairs(args) do
    for _, ext in ipairs({"rss", "atom", "json"}) do
      for _, enc in ipairs({"gzip", "br", "identity"}) do
        reqs[#reqs + 1] = wrk.format("GET", "/feeds/" .. slug .. "." .. ext, {["Accept-Encoding"] = enc})
      end
    end
    if slug ~= "all" then reqs[#reqs + 1] = wrk.format("GET", "/c/" .. slug, {["Accept-Encoding"] = "gzip"}) end
  end
  reqs[#reqs + 1] = wrk.format("GET", "/", {["Accept-Encoding"] = "gzip"})
  reqs[#reqs + 1] = wrk.format("GET", "/feeds.opml", {["Accept-Encoding"] = "gzip"})
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
EOF
    wrk_done_lua
}

# median: the median of the numbers on stdin (separated by spaces or newlines).
median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# field LINE KEY: the value of KEY=... in a RESULT line.
field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$1"; }

# slugs of the config, and `all`.
feed_slugs() {
    echo all
    sed -n 's/^slug = "\(.*\)"/\1/p' "$CONFIG"
}
