-- wrk script: POST the body in $BENCH_BODY with the key in $BENCH_KEY; print one
-- parseable line (requests, seconds, p50 us, p99 us, errors) when done.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "none")

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %.3f %.1f %.1f %d\n", summary.requests, summary.duration / 1e6,
                         latency:percentile(50), latency:percentile(99), errors))
end
