#!/usr/bin/env bash
# Start two real HTTP remote caches on loopback, for pipe's cache tests, benchmarks and CI:
#   - nginx + WebDAV as a Bazel-style HTTP cache (GET/HEAD/PUT/DELETE /cas/<sha256>, /ac/<key>, any prefix);
#     writes need `Authorization: Bearer $CACHE_TOKEN` or basic auth $CACHE_BASIC_USER:$CACHE_BASIC_PASS;
#   - turborepo-remote-cache (Turborepo's /v8/artifacts API), the npm package pinned in
#     scripts/cache-servers/package.json, installed into $TURBO_PKG_DIR (outside the repo's workspaces).
#
#   eval "$(bash scripts/cache-servers-up.sh)"     # prints export PIPE_TEST_BAZEL_CACHE_URL=... etc.
#   bash scripts/cache-servers-up.sh --check       # exit 0 and print the exports only if all are already healthy
#   bash scripts/cache-servers-down.sh             # same environment knobs
#
# Never exports TURBO_API/TURBO_TOKEN/TURBO_TEAM: the repository's own `turbo` would adopt the test server.
# Idempotent: healthy servers started with the same knobs are left alone; others are (re)started.
# Concurrent calls on one directory are serialised. Only export lines go to stdout.
#
# Knobs (environment):
#   CACHE_CI_DIR=/tmp/pipe-cache-ci     everything lives here (nginx/ turbo/ run/ log/)
#   CACHE_SERVERS="nginx turbo"         which servers to start
#   NGINX_CACHE_PORT=18080  TURBO_CACHE_PORT=18081   (18000-18999)
#   CACHE_TOKEN=ci-cache-token          bearer token accepted by nginx for writes
#   CACHE_BASIC_USER=ci CACHE_BASIC_PASS=ci-pass   basic credentials accepted by nginx for writes
#   CACHE_READ_AUTH=0                   1: nginx also requires a credential for GET/HEAD
#   TURBO_CACHE_TOKEN=turbo-ci-token    token(s) of the turbo server (comma list allowed; the first is exported)
#   TURBO_CACHE_TEAM=ci                 team exported for the tests
#   TURBO_BODY_LIMIT=209715200          largest artifact the turbo server accepts (bytes)
#   TURBO_PKG_DIR=$CACHE_CI_DIR/turbo-pkg   where the npm package is installed
#   CACHE_START_TIMEOUT=30              seconds to wait for health
set -euo pipefail

D="${CACHE_CI_DIR:-/tmp/pipe-cache-ci}"
SERVERS="${CACHE_SERVERS:-nginx turbo}"
NGINX_PORT="${NGINX_CACHE_PORT:-18080}"
TURBO_PORT="${TURBO_CACHE_PORT:-18081}"
TOKEN="${CACHE_TOKEN:-ci-cache-token}"
BASIC_USER="${CACHE_BASIC_USER:-ci}"
BASIC_PASS="${CACHE_BASIC_PASS:-ci-pass}"
READ_AUTH="${CACHE_READ_AUTH:-0}"
TURBO_TOKENS="${TURBO_CACHE_TOKEN:-turbo-ci-token}"
TURBO_TEAM_NAME="${TURBO_CACHE_TEAM:-ci}"
BODY_LIMIT="${TURBO_BODY_LIMIT:-209715200}"
PKG_DIR="${TURBO_PKG_DIR:-$D/turbo-pkg}"
START_TIMEOUT="${CACHE_START_TIMEOUT:-30}"
HERE="$(cd "$(dirname "$0")" && pwd)"
CHECK_ONLY=0
[ "${1:-}" = "--check" ] && CHECK_ONLY=1

say() { printf 'cache-servers-up: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# map{} matches credentials as plain strings: refuse anything that would need quoting in nginx.conf.
for v in "$TOKEN" "$BASIC_USER" "$BASIC_PASS" "${TURBO_TOKENS//,/}" "$TURBO_TEAM_NAME"; do
  [[ "$v" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "tokens, users, passwords and teams must match [A-Za-z0-9._~+/=-]+"
done
for p in "$NGINX_PORT" "$TURBO_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 18000 ] && [ "$p" -le 18999 ] || die "ports must be in 18000-18999 (got $p)"
done
want() { [[ " $SERVERS " == *" $1 "* ]]; }

mkdir -p "$D/run" "$D/log"
exec 9>"$D/.lock"
flock -w 300 9 || die "another cache-servers-up/down holds $D/.lock"

# pid_alive <pidfile> <pattern>: the pid in the file runs and its command line matches (guards against pid reuse).
pid_alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

NGINX_KNOBS="v1 port=$NGINX_PORT token=$(printf %s "$TOKEN:$BASIC_USER:$BASIC_PASS" | sha256sum | cut -c1-16) read_auth=$READ_AUTH"
TURBO_KNOBS="v1 port=$TURBO_PORT token=$(printf %s "$TURBO_TOKENS" | sha256sum | cut -c1-16) limit=$BODY_LIMIT"
nginx_healthy() {
  [ "$(cat "$D/run/nginx.knobs" 2>/dev/null)" = "$NGINX_KNOBS" ] && pid_alive "$D/run/nginx.pid" nginx &&
    http_ok "http://127.0.0.1:$NGINX_PORT/healthz"
}
turbo_healthy() {
  [ "$(cat "$D/run/turbo.knobs" 2>/dev/null)" = "$TURBO_KNOBS" ] && pid_alive "$D/run/turbo.pid" turborepo-remote-cache &&
    http_ok "http://127.0.0.1:$TURBO_PORT/v8/artifacts/status"
}

print_exports() {
  if want nginx; then
    printf 'export PIPE_TEST_BAZEL_CACHE_URL=%q\n' "http://127.0.0.1:$NGINX_PORT"
    printf 'export PIPE_TEST_BAZEL_CACHE_TOKEN=%q\n' "$TOKEN"
    printf 'export PIPE_TEST_BAZEL_CACHE_BASIC=%q\n' "$BASIC_USER:$BASIC_PASS"
    printf 'export PIPE_TEST_BAZEL_CACHE_DIR=%q\n' "$D/nginx/data"
    printf 'export PIPE_TEST_BAZEL_CACHE_LOG=%q\n' "$D/log/nginx-access.log"
  fi
  if want turbo; then
    printf 'export PIPE_TEST_TURBO_CACHE_URL=%q\n' "http://127.0.0.1:$TURBO_PORT"
    printf 'export PIPE_TEST_TURBO_CACHE_TOKEN=%q\n' "${TURBO_TOKENS%%,*}"
    printf 'export PIPE_TEST_TURBO_CACHE_TEAM=%q\n' "$TURBO_TEAM_NAME"
    printf 'export PIPE_TEST_TURBO_CACHE_DIR=%q\n' "$D/turbo/data"
  fi
}

all_healthy=1
want nginx && ! nginx_healthy && all_healthy=0
want turbo && ! turbo_healthy && all_healthy=0
if [ "$all_healthy" = 1 ]; then
  [ "$CHECK_ONLY" = 1 ] || say "already up"
  print_exports; exit 0
fi
[ "$CHECK_ONLY" = 1 ] && exit 1

wait_for() { # wait_for <url> <name> <log>
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until http_ok "$1"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "error: $2 not healthy after ${START_TIMEOUT}s ($1)"; tail -n 20 "$3" >&2 2>/dev/null || true; exit 1
    fi
    sleep 0.05
  done
}

# --- nginx (WebDAV) ----------------------------------------------------------------------------------
start_nginx() {
  command -v nginx >/dev/null 2>&1 || die "'nginx' not found: install the Debian package nginx-extras"
  CACHE_SERVERS=nginx CACHE_DOWN_LOCK_HELD=1 bash "$HERE/cache-servers-down.sh" >&2 || true
  local n="$D/nginx" user_line="" basic
  mkdir -p "$n/data" "$n/tmp/body" "$n/tmp/proxy" "$n/tmp/fastcgi" "$n/tmp/uwsgi" "$n/tmp/scgi"
  if [ "$(id -u)" = 0 ] && id www-data >/dev/null 2>&1; then
    # The master runs as root; its workers write the data as www-data.
    user_line="user www-data www-data;"
    chown -R www-data:www-data "$n/data" "$n/tmp"
    # The workers must be able to traverse to the data (mktemp -d makes 0700 directories).
    chmod o+x "$D" "$n"
  fi
  basic="$(printf %s "$BASIC_USER:$BASIC_PASS" | base64 -w0)"
  local read_rule=""
  [ "$READ_AUTH" = 1 ] && read_rule='if ($cache_auth_ok = 0) { return 401; }'
  cat >"$n/nginx.conf.tmp" <<EOF
# Generated by scripts/cache-servers-up.sh; regenerated on every (re)start.
$user_line
worker_processes 1;
daemon on;
pid $D/run/nginx.pid;
error_log $D/log/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log $D/log/nginx-access.log;
  client_body_temp_path $n/tmp/body;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  map \$http_authorization \$cache_auth_ok { default 0; "Bearer $TOKEN" 1; "Basic $basic" 1; }
  map \$request_method \$cache_write { default 1; GET 0; HEAD 0; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $n/data;
    client_max_body_size 0;
    log_not_found off;
    location = /healthz { return 200 "ok\n"; }
    location / {
      set \$cache_deny "\${cache_write}\${cache_auth_ok}";
      if (\$cache_deny = "10") { return 401; }
      $read_rule
      limit_except GET HEAD PUT DELETE { deny all; }
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
    error_page 401 @unauthorized;
    location @unauthorized { add_header WWW-Authenticate 'Bearer realm="cache"' always; return 401 "unauthorized\n"; }
  }
}
EOF
  mv "$n/nginx.conf.tmp" "$n/nginx.conf"
  nginx -t -q -c "$n/nginx.conf" -p "$n/" 2>>"$D/log/nginx-error.log" || die "nginx.conf rejected; see $D/log/nginx-error.log"
  nginx -c "$n/nginx.conf" -p "$n/" 9>&- || die "nginx failed to start; see $D/log/nginx-error.log"
  printf '%s\n' "$NGINX_KNOBS" >"$D/run/nginx.knobs"
  wait_for "http://127.0.0.1:$NGINX_PORT/healthz" nginx "$D/log/nginx-error.log"
  say "nginx up on 127.0.0.1:$NGINX_PORT"
}

# --- turborepo-remote-cache ----------------------------------------------------------------------------
install_turbo() {
  command -v npm >/dev/null 2>&1 || die "'npm' not found: install Node.js >= 20 with npm"
  local want_sum have_sum
  want_sum="$(cat "$HERE/cache-servers/package.json" "$HERE/cache-servers/package-lock.json" | sha256sum | cut -c1-16)"
  have_sum="$(cat "$PKG_DIR/.installed" 2>/dev/null || true)"
  if [ "$want_sum" = "$have_sum" ] && [ -f "$PKG_DIR/node_modules/turborepo-remote-cache/dist/cli.js" ]; then return; fi
  say "installing turborepo-remote-cache into $PKG_DIR (npm ci, ~20 s)"
  rm -rf "$PKG_DIR"; mkdir -p "$PKG_DIR"
  cp "$HERE/cache-servers/package.json" "$HERE/cache-servers/package-lock.json" "$PKG_DIR/"
  (cd "$PKG_DIR" && npm ci --omit=dev --no-audit --no-fund --loglevel=error 9>&-) >&2 || die "npm ci failed in $PKG_DIR"
  printf '%s\n' "$want_sum" >"$PKG_DIR/.installed"
}

start_turbo() {
  command -v node >/dev/null 2>&1 || die "'node' not found"
  install_turbo
  CACHE_SERVERS=turbo CACHE_DOWN_LOCK_HELD=1 bash "$HERE/cache-servers-down.sh" >&2 || true
  mkdir -p "$D/turbo/data"
  # setsid: out of the caller's process group; the sh wrapper writes node's own pid (exec keeps it).
  env NODE_ENV=production HOST=127.0.0.1 PORT="$TURBO_PORT" AUTH_MODE=static TURBO_TOKEN="$TURBO_TOKENS" \
    STORAGE_PROVIDER=local STORAGE_PATH="$D/turbo/data" STORAGE_PATH_USE_TMP_FOLDER=false \
    BODY_LIMIT="$BODY_LIMIT" LOG_LEVEL=info ENABLE_STATUS_LOG=false \
    setsid sh -c 'echo $$ > "$0"; exec node "$1"' "$D/run/turbo.pid" \
      "$PKG_DIR/node_modules/turborepo-remote-cache/dist/cli.js" \
      >>"$D/log/turbo.log" 2>&1 </dev/null 9>&- &
  printf '%s\n' "$TURBO_KNOBS" >"$D/run/turbo.knobs"
  wait_for "http://127.0.0.1:$TURBO_PORT/v8/artifacts/status" turborepo-remote-cache "$D/log/turbo.log"
  say "turborepo-remote-cache up on 127.0.0.1:$TURBO_PORT"
}

if want nginx && ! nginx_healthy; then start_nginx; fi
if want turbo && ! turbo_healthy; then start_turbo; fi
print_exports
