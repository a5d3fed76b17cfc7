#!/usr/bin/env python3
"""Opens N concurrent GET /features/stream connections (HTTP/1.1, asyncio) on one host, measures the host's RSS and CPU
while they sit idle, then makes CHANGES toggle changes (PUT /features/{key}) and records, per change, when its event
reached each stream. Latency = event arrival - the moment the PUT was sent (so it includes the PUT's own commit).
usage: stream-client.py HOST PORT TENANT TOKEN HOST_PID STREAMS IDLE_SECONDS CHANGES"""
import asyncio, json, os, statistics, sys, time

host, port, tenant, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pid, streams, idle_seconds, changes = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
ticks = os.sysconf("SC_CLK_TCK")

def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

arrivals = {}          # key -> list of arrival times
opened = 0
async def stream(i, ready):
    global opened
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    writer.write((f"GET /features/stream HTTP/1.1\r\nHost: {host}\r\nX-Tenant: {tenant}\r\nAuthorization: Bearer {token}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream {i}: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    opened += 1
    if opened == streams:
        ready.set()
    event = None
    while True:
        line = await reader.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n")
        # chunked framing: size lines are hex digits only; SSE lines never are
        if line.startswith(b"event: "):
            event = line[7:]
        elif line.startswith(b"data: ") and event == b"toggle":
            now = time.perf_counter()
            try:
                arrivals.setdefault(json.loads(line[6:])["key"], []).append(now)
            except ValueError:
                print(f"  stream {i}: unreadable event line {line!r}", file=sys.stderr)

async def put(key, enabled):
    reader, writer = await asyncio.open_connection(host, port)
    body = json.dumps({"description": "bench", "enabled": enabled}).encode()
    writer.write((f"PUT /features/{key} HTTP/1.1\r\nHost: {host}\r\nX-Tenant: {tenant}\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status and b" 201 " not in status:
        raise SystemExit(f"PUT {key}: {status!r}")
    await reader.read()
    writer.close()

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

async def idle_cpu(seconds):
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (cpu_seconds() - cpu0) / (time.perf_counter() - t0) * 100

async def main():
    rss_before = rss_mb()
    cpu_before = await idle_cpu(idle_seconds)
    ready = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(stream(i, ready)) for i in range(streams)]
    await asyncio.wait_for(ready.wait(), 120)
    print(f"  opened {streams} streams in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(2)
    rss_open = rss_mb()
    cpu = await idle_cpu(idle_seconds)
    print(f"  host RSS: {rss_before:.0f} MB before, {rss_open:.0f} MB with {streams} idle streams "
          f"({(rss_open - rss_before) * 1024 / streams:.1f} KB per stream)")
    print(f"  host CPU while idle, {idle_seconds:.0f} s each: {cpu_before:.1f}% of one core without streams, {cpu:.1f}% with {streams}")
    every, slowest = [], []
    for n in range(changes):
        key = f"bench-{os.getpid()}-{n}"
        sent = time.perf_counter()
        await put(key, n % 2 == 0)
        deadline = time.perf_counter() + 10
        while len(arrivals.get(key, [])) < streams and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        got = [a - sent for a in arrivals.get(key, [])]
        if len(got) < streams:
            raise SystemExit(f"change {n}: only {len(got)} of {streams} streams heard it within 10 s")
        every += got
        slowest.append(max(got))
        await asyncio.sleep(0.2)
    ms = lambda v: f"{v * 1000:.1f} ms"
    print(f"  change -> event, {changes} changes x {streams} streams: p50 {ms(pct(every, 50))}, p99 {ms(pct(every, 99))}, max {ms(max(every))}")
    print(f"  change -> event at ALL {streams} streams (per change): p50 {ms(pct(slowest, 50))}, p99 {ms(pct(slowest, 99))}")
    print(f"  host RSS after the changes: {rss_mb():.0f} MB")
    for t in tasks:
        t.cancel()

asyncio.run(main())
