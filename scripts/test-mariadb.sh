#!/usr/bin/env bash
# Starts a throwaway MariaDB for the test suite (no system service, no root password, loopback only).
#   scripts/test-mariadb.sh start   → prints the DATABASE_URL to use, e.g. mysql://root@127.0.0.1:33061/lti_test
#   scripts/test-mariadb.sh stop
# Data lives under ${MARIADB_TEST_DIR:-/tmp/lti-provider-mariadb}; it is wiped on start.
set -euo pipefail
dir="${MARIADB_TEST_DIR:-/tmp/lti-provider-mariadb}"
port="${MARIADB_TEST_PORT:-33061}"
sock="$dir/mysqld.sock"
case "${1:-}" in
  start)
    command -v mariadbd >/dev/null || { echo "mariadbd not found: apt-get install -y mariadb-server" >&2; exit 1; }
    if [ -f "$dir/mysqld.pid" ] && kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null; then
      kill "$(cat "$dir/mysqld.pid")"; sleep 1
    fi
    rm -rf "$dir"; mkdir -p "$dir/data"
    user_opt=(); [ "$(id -u)" = 0 ] && user_opt=(--user=root)
    mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
    mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$sock" --port="$port" \
      --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" --skip-name-resolve \
      --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --max-connections=500 \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      >"$dir/mysqld.log" 2>&1 &
    for _ in $(seq 1 60); do
      mariadb --no-defaults -uroot --socket="$sock" -e 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.5
    done
    mariadb --no-defaults -uroot --socket="$sock" -e "CREATE DATABASE IF NOT EXISTS lti_test CHARACTER SET utf8mb4; \
      CREATE USER IF NOT EXISTS 'lti'@'127.0.0.1' IDENTIFIED BY 'lti'; GRANT ALL ON *.* TO 'lti'@'127.0.0.1'; FLUSH PRIVILEGES;" \
      || { cat "$dir/mysqld.log" >&2; exit 1; }
    echo "mysql://lti:lti@127.0.0.1:$port/lti_test"
    ;;
  stop)
    if [ -f "$dir/mysqld.pid" ]; then kill "$(cat "$dir/mysqld.pid")" 2>/dev/null || true; fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
