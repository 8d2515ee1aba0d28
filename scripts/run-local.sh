#!/usr/bin/env bash
# `make run`: the whole pipeline end to end on this machine. Starts Redis (generated password,
# data in .run/redis), SecantusDB (data in .data/secantus), danawa-sim (SITE=sim, the default)
# on loopback, two crawler and two updater workers, then `producer run` in the foreground
# (progress bars), prints the summary and a few parts, and stops everything it started — also
# on Ctrl-C or an error.
#
#   SITE=sim (default)   offline, against the bundled simulator
#   SITE=live PROXY=socks5h://127.0.0.1:9050   the real prod.danawa.com, through a proxy (Tor);
#                        refused without PROXY
#   PROFILE=release (default) | debug            which build to run
#   PRODUCER_ARGS="--fresh"                      extra flags for `producer run` (an unfinished
#                        run is resumed by default: its data stays in .run/redis)
#   SIM_PRODUCTS=N, SIM_CATEGORIES=N             size of the simulated catalogue (danawa-sim)
#   bash scripts/run-local.sh look               show a few parts of the last run's data
#
# The Redis password never appears on a command line or in the output: redis-server reads it
# from .run/redis/redis.conf and the processes from the environment (.run/env, mode 600).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run_dir=$root/.run
data_dir=$root/.data/secantus
SITE=${SITE:-sim}
PROXY=${PROXY:-}
PROFILE=${PROFILE:-release}
bin=$root/target/$PROFILE

say() { printf 'run-local: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- processes we start, stopped in reverse order on exit -------------------------------------
names=()
pids=()

started() { names+=("$1"); pids+=("$2"); }

stop_all() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    # Workers drain in-flight work within their grace period; wait for that, not longer.
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "${names[i]} did not stop within 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

on_exit() {
  local code=$?
  trap - EXIT INT TERM
  if ((${#pids[@]})); then say "stopping what was started (logs in .run/)"; fi
  stop_all
  exit "$code"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something accepts connections on the port (the process's state, not a guess);
# fails early if the process died.
wait_port() {
  local name=$1 port=$2 pid=$3 log=$4
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2 || true
      die "$name exited during start-up (log: ${log#"$root"/})"
    fi
    sleep 0.1
  done
  die "$name did not listen on port $port within 60 s (log: ${log#"$root"/})"
}

start_redis() {
  local password port conf
  password=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  port=$(free_port)
  conf=$run_dir/redis/redis.conf
  (
    umask 077
    cat >"$conf" <<EOF
port $port
bind 127.0.0.1
protected-mode yes
requirepass $password
dir $run_dir/redis
appendonly yes
appendfsync everysec
save ""
daemonize no
logfile $run_dir/redis.log
EOF
  )
  redis-server "$conf" &
  started redis $!
  wait_port redis "$port" "$!" "$run_dir/redis.log"
  export REDIS_URL="redis://:$password@127.0.0.1:$port/0"
  redis_port=$port
}

start_mongo() {
  local port
  port=$(free_port)
  mkdir -p "$data_dir"
  # Run from .run so it does not pick up a secantusd.toml from the repository.
  (cd "$run_dir" && exec "$root/.venv/bin/secantusd-py" --host 127.0.0.1 --port "$port" \
    --storage-path "$data_dir" --log-level WARNING) >"$run_dir/secantus.log" 2>&1 &
  started secantusdb $!
  wait_port SecantusDB "$port" "$!" "$run_dir/secantus.log"
  export MONGODB_URI="mongodb://127.0.0.1:$port/?directConnection=true"
}

# The simulator keeps its port from one `make run` to the next when it can: the jobs of an
# unfinished run carry its URLs, and the next `make run` resumes that run.
start_sim() {
  local port
  port=$(cat "$run_dir/sim-port" 2>/dev/null || true)
  if ! [[ $port =~ ^[0-9]+$ ]] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    port=$(free_port)
  fi
  echo "$port" >"$run_dir/sim-port"
  "$bin/danawa-sim" serve --addr "127.0.0.1:$port" --config "$root/deploy/scrapConfig.json" \
    >"$run_dir/danawa-sim.log" 2>&1 &
  started danawa-sim $!
  wait_port danawa-sim "$port" "$!" "$run_dir/danawa-sim.log"
  sim_origin="http://127.0.0.1:$port"
}

# The config the run uses: the deployment's, pointed at the simulator for SITE=sim.
write_config() {
  if [ "$SITE" = live ]; then
    config=$root/deploy/scrapConfig.json
    return
  fi
  config=$run_dir/scrapConfig.sim.json
  sed "s#https://prod.danawa.com#$sim_origin#g" "$root/deploy/scrapConfig.json" >"$config"
}

start_workers() {
  local i kind
  local -a worker_env=(EK_HTTP_ADDR=127.0.0.1:0)
  if [ "$SITE" = live ]; then worker_env+=(EK_PROXY="$PROXY" EK_ENV=production); fi
  for kind in crawler updater; do
    for i in 1 2; do
      env "${worker_env[@]}" EK_CONSUMER_NAME="$kind-$i" "$bin/$kind-worker" run \
        >"$run_dir/$kind-$i.log" 2>&1 &
      started "$kind-$i" $!
    done
  done
}

write_env_file() {
  (
    umask 077
    printf 'REDIS_URL=%s\nMONGODB_URI=%s\n' "$REDIS_URL" "$MONGODB_URI" >"$run_dir/env"
  )
}

# A few parts from MongoDB, with pymongo from .venv.
show_parts() {
  "$root/.venv/bin/python" - "$MONGODB_URI" "${MONGODB_DB:-electrokerot}" <<'EOF'
import sys
import pymongo

parts = pymongo.MongoClient(sys.argv[1])[sys.argv[2]]["parts"]
print(f"parts: {parts.count_documents({})} documents")
for category in sorted(parts.distinct("category")):
    print(f"  {category:<14} {parts.count_documents({'category': category}):>6}")
for p in parts.find({}, {"pcode": 1, "category": 1, "name": 1, "prices": {"$slice": -1}, "stock": 1}).limit(5):
    price = p.get("prices") and p["prices"][-1].get("price")
    print(f"  {p['pcode']:<10} {p['category']:<12} {price!s:>9}  {p['name'].get('fullName', '')[:60]}")
EOF
}

look() {
  mkdir -p "$run_dir"
  start_mongo
  show_parts
}

build() {
  say "building the $PROFILE binaries (cargo build --workspace --bins)"
  if [ "$PROFILE" = release ]; then
    cargo build --release --workspace --bins
  else
    cargo build --workspace --bins
  fi
}

main() {
  case $SITE in
    sim | live) ;;
    *) die "SITE must be sim or live, not '$SITE'" ;;
  esac
  if [ "$SITE" = live ] && [ -z "$PROXY" ]; then
    die "SITE=live needs a SOCKS5 proxy, e.g.: make run SITE=live PROXY=socks5h://127.0.0.1:9050 (Tor)"
  fi
  build
  mkdir -p "$run_dir/redis"
  start_redis
  start_mongo
  if [ "$SITE" = sim ]; then start_sim; fi
  write_config
  write_env_file
  start_workers
  say "site $SITE${sim_origin:+ ($sim_origin)}, redis 127.0.0.1:$redis_port, mongodb ${MONGODB_URI%%/\?*}"
  say "logs in .run/; watch from another shell: set -a; . .run/env; set +a; target/$PROFILE/producer status --watch"
  local status=0
  # shellcheck disable=SC2086 # PRODUCER_ARGS is a list of flags
  "$bin/producer" run --config "$config" ${PRODUCER_ARGS:-} || status=$?
  if [ "$status" -ne 0 ]; then
    die "producer run exited with $status"
  fi
  echo
  show_parts
  echo
  echo "Look at the data again later: bash scripts/run-local.sh look"
  echo "  (or, while the services run: .venv/bin/python -c \"import pymongo; print(pymongo.MongoClient('$MONGODB_URI').electrokerot.parts.find_one())\")"
}

sim_origin=
redis_port=
config=
if [ "${1:-}" = look ]; then
  look
else
  main
fi
