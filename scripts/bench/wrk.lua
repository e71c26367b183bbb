-- wrk script for scripts/bench.sh. The request comes from environment variables so that one
-- script serves every workload:
--   BENCH_METHOD  HTTP method (default GET)
--   BENCH_COOKIE  Cookie header value, e.g. "sessionid=...; csrftoken=..."
--   BENCH_CSRF    X-CSRFToken header value, required by Keystone on unsafe methods
--   BENCH_BODY    JSON request body
-- done() prints one "RESULT key=value ..." line that bench.sh parses; latencies are in
-- microseconds, as wrk measures them.

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end

local csrf = os.getenv("BENCH_CSRF")
if csrf and csrf ~= "" then
   wrk.headers["X-CSRFToken"] = csrf
end

local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
   wrk.body = body
   wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
   local errors = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.2f p50_us=%d p99_us=%d max_us=%d http_errors=%d socket_errors=%d timeouts=%d\n",
      summary.requests,
      seconds,
      summary.requests / seconds,
      latency:percentile(50),
      latency:percentile(99),
      latency.max,
      errors.status,
      errors.connect + errors.read + errors.write,
      errors.timeout))
end
