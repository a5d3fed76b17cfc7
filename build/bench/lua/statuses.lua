-- Counts the answers by HTTP status and ends with one line a script can read:
--   RESULT requests=N seconds=S p50_ms=… p99_ms=… p999_ms=… max_ms=… connect=… read=… write=… timeout=… s200=… s503.tenant-busy=…
-- usage: wrk -s statuses.lua -H … URL   (the request is wrk's own, with the -H headers; used by build/bench/isolation.sh)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

-- 2xx by status; any other answer by status and problem type (s503.tenant-busy), "?" without one
function response(status, headers, body)
  local key = tostring(status)
  if status >= 300 then
    key = key .. "." .. ((body and body:match('"type":"[^"]-/problems/([%w%-]+)"')) or "?")
  end
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f connect=%d read=%d write=%d timeout=%d",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3, e.connect, e.read, e.write, e.timeout))
  local keys = {}
  for status in pairs(counts) do table.insert(keys, status) end
  table.sort(keys)
  for _, status in ipairs(keys) do io.write(string.format(" s%s=%d", status, counts[status])) end
  io.write("\n")
end
