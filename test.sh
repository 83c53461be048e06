#!/usr/bin/env bash
# Runs every test. Installs the Debian peers the tests start (Prometheus + promtool, Alertmanager, Pushgateway,
# ZooKeeper, Chromium) with apt-get when they are missing, then runs `dotnet test` on the solution.
# Extra arguments go to `dotnet test` (e.g. ./test.sh --filter "Category!=LongRunning").
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ -f /usr/share/java/slf4j-simple.jar ] || missing+=(libslf4j-java)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
# Interop peers: kazoo (Python ZooKeeper client) reads and writes the same znodes as our client.
/usr/bin/python3 -c "import kazoo" >/dev/null 2>&1 || missing+=(python3-kazoo)
# Curator (Java) contends with our LeaderLatch on one path; the fixture compiles a small driver with javac.
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
for jar in curator-recipes curator-framework curator-client guava; do
  [ -f "/usr/share/java/$jar.jar" ] || missing+=("lib$jar-java")
done
# Headless Chromium renders the status page (DOM, screenshot, console messages).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# python3-snappy produces independent snappy data for our block codec's tests.
/usr/bin/python3 -c "import snappy" >/dev/null 2>&1 || missing+=(python3-snappy)

if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Keep the packages' services from starting: fixtures start the servers themselves on loopback ports.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends $(printf "%s\n" "${missing[@]}" | sort -u) >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

rm -rf TestResults
dotnet test Metrics.Coordination.sln -c Release \
  --logger "trx" --results-directory TestResults \
  --blame-hang-timeout 10m \
  "$@"
