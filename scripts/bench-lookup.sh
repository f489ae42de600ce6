#!/bin/bash
# usage: scripts/bench-lookup.sh BINARY  (builds nothing; uses /tmp/vigil as the bench client)
# Starts BINARY as a server on 127.0.0.1:18181 with lookup limits lifted, runs
# one short vigil bench against it, prints the lookup rows, stops the server.
bin=$1
pkill -f "serve --listen 127.0.0.1:18181"; for i in $(seq 50); do pgrep -f "serve --listen 127.0.0.1:18181" >/dev/null || break; sleep 0.2; done
rm -rf /tmp/b3 && mkdir /tmp/b3 && cd /tmp/b3
($bin serve --listen 127.0.0.1:18181 --lookup-rate 1e9 --lookup-burst 1000000000 --trusted-proxies 127.0.0.1/32 --log-level warn > out.log 2> err.log &)
sleep 0.7
/tmp/vigil bench --target http://127.0.0.1:18181 --mail-dir /tmp/b3/vigil-mail --accounts 32 --duration 6s 2>&1 | grep -A2 "concurrency  req" | tail -2
pkill -f "serve --listen 127.0.0.1:18181"
