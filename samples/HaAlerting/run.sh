#!/usr/bin/env bash
# Highly available alerting on loopback: a 3-member ZooKeeper ensemble, an Alertmanager and three replicas of
# samples/HaAlerting. Waits for the alert, SIGKILLs the replica that sent it (the leader), and shows the alert
# continuing in Alertmanager from another replica with the same startsAt. Needs Debian's zookeeper, java and
# prometheus-alertmanager (apt-get install -y zookeeper default-jre-headless prometheus-alertmanager), curl, python3.
# Everything runs in a temp directory and is stopped (by PID) on exit.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d /tmp/ha-alerting.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

zk_ports=(22181 22182 22183)
am_port=29093
cp_jars=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
for i in 1 2 3; do
  mkdir -p "$work/zk$i/data"; echo "$i" > "$work/zk$i/data/myid"
  cat > "$work/zk$i/zoo.cfg" <<CFG
tickTime=500
initLimit=20
syncLimit=10
dataDir=$work/zk$i/data
clientPort=${zk_ports[$((i-1))]}
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
server.1=127.0.0.1:22888:23888
server.2=127.0.0.1:22889:23889
server.3=127.0.0.1:22890:23890
CFG
  java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp_jars" org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zk$i/zoo.cfg" > "$work/zk$i/out.log" 2>&1 &
  pids+=($!)
done
zk="127.0.0.1:22181,127.0.0.1:22182,127.0.0.1:22183"

cat > "$work/alertmanager.yml" <<CFG
route: {receiver: none, group_wait: 1s}
receivers: [{name: none}]
CFG
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
  --web.listen-address=127.0.0.1:$am_port --cluster.listen-address= > "$work/am.log" 2>&1 &
pids+=($!)
am="http://127.0.0.1:$am_port"

dotnet build -c Release -v q -nologo > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
dll=bin/Release/net10.0/HaAlerting.dll
declare -A replica
for id in a b c; do
  dotnet "$dll" "$id" "$zk" "$am" > "$work/replica-$id.log" 2>&1 &
  replica[$id]=$!; pids+=($!)
done
echo "ZooKeeper $zk, Alertmanager $am, replicas a b c (logs in $work)"

# The alert as Alertmanager has it: "startsAt sender term".
alert() {
  curl -fsS "$am/api/v2/alerts?filter=alertname%3DDemoAlwaysFiring" 2>/dev/null | python3 -c '
import json, sys, urllib.parse
alerts = json.load(sys.stdin)
for a in alerts:
    q = urllib.parse.parse_qs(urllib.parse.urlparse(a["generatorURL"]).query)
    print(a["startsAt"], q.get("sender", ["?"])[0], q.get("term", ["?"])[0], a["status"]["state"])
' || true
}

wait_for() { # wait_for <seconds> <python condition on "startsAt sender term state">
  for _ in $(seq 1 $(( $1 * 4 ))); do
    line=$(alert); if [ -n "$line" ] && python3 -c "import sys; s,snd,t,st=sys.argv[1].split(); sys.exit(0 if $2 else 1)" "$line"; then echo "$line"; return 0; fi
    sleep 0.25
  done
  echo "timed out; Alertmanager shows: $(alert)" >&2; return 1
}

first=$(wait_for 90 'st == "active"')
read -r starts sender term _ <<< "$first"
echo "firing: startsAt $starts, sent by $sender (term $term)"
echo "SIGKILL replica $sender (pid ${replica[$sender]}) ..."
kill -9 "${replica[$sender]}"
killed=$(date +%s.%N)
next=$(wait_for 60 "snd != \"$sender\"")
read -r starts2 sender2 term2 state2 <<< "$next"
echo "after $(python3 -c "print(f'{$(date +%s.%N) - $killed:.1f}')") s: sent by $sender2 (term $term2), startsAt $starts2, state $state2"
if [ "$starts2" = "$starts" ] && [ "$state2" = "active" ]; then
  echo "OK: the alert kept firing from another replica with the same startsAt"
else
  echo "UNEXPECTED: startsAt or state changed"; exit 1
fi
