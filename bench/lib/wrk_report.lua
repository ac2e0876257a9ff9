-- wrk script: prints one machine-readable WRKSTAT line after the run, so the bench never has to
-- parse wrk's unit-suffixed text (which omits the error lines when they are zero).
-- Optional: WRK_CONNECTION_CLOSE=1 in the environment sends "Connection: close" (one connection
-- per request; wrk reconnects after every response).

if os.getenv("WRK_CONNECTION_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKSTAT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d " ..
    "timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
