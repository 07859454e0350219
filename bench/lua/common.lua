-- Shared by the bench scripts: a fixed amount of work per wrk thread, answers counted by status, a monotonic
-- clock for the span from the first request sent to the last answer, and one JSON summary line from done().
-- Arguments after `--`: the marker directory (a file per thread that finished its work), the thread count, then
-- the script's own. The Python side interrupts wrk once every thread has left its 'done' marker, or once all
-- was sent and wrk's timeout has passed (a request lost to a dropped connection is never answered).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")

local M = {}

function M.now()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}

function M.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- per-thread state (each wrk thread runs its own copy of the script)
M.sent, M.answered, M.quota, M.statuses, M.codes, M.no_retry_after, M.applied = 0, 0, 0, {}, {}, 0, 0
M.running = false -- wrk calls request() once on thread 0 before it runs, to check it: that one is not sent

function M.init(args, quota)
  M.markers, M.threads, M.quota = args[1], tonumber(args[2]), quota
  if M.quota <= 0 then M.finish() end
end

local function mark(name)
  local f = io.open(M.markers .. "/" .. name .. "-" .. id, "w")
  f:write(name)
  f:close()
end

function M.finish()
  mark("done")
  wrk.thread:stop()
end

function M.delay()
  M.running = true -- wrk asks for a delay before each request it sends
  if M.sent >= M.quota then return 3600000 end -- this thread's work is all sent: wait for the answers
  return 0
end

M.fillers = 0 -- requests wrk asked for after this thread's work was all sent (reconnecting a closed idle connection)

function M.filler()
  return wrk.format("GET", "/healthz", {}, nil)
end

-- the number of this request in the thread's work, or nil: send `M.filler()` instead (its answer is not counted)
function M.sending()
  if not M.running then return nil end
  if M.sent >= M.quota then
    M.fillers = M.fillers + 1
    return nil
  end
  M.sent = M.sent + 1
  if M.first == nil then M.first = M.now() end
  if M.sent == M.quota then mark("sent") end -- a request lost to a socket error is never answered
  return M.sent
end

function M.answer(status, headers, body)
  if M.fillers > 0 and status == 200 and body == '{"status":"ok"}' then
    M.fillers = M.fillers - 1
    return
  end
  M.answered = M.answered + 1
  if status >= 400 then
    local code = body:match('"code": ?"([%w_]+)"') or "?"
    M.codes[code] = (M.codes[code] or 0) + 1
  end
  M.last = M.now()
  M.statuses[status] = (M.statuses[status] or 0) + 1
  if (status == 503 or status == 429) and headers["retry-after"] == nil and headers["Retry-After"] == nil then
    M.no_retry_after = M.no_retry_after + 1
  end
  M.export()
  if M.answered >= M.quota then M.finish() end
end

function M.export()
  -- globals read by done() through thread:get
  b_first, b_last, b_statuses, b_codes, b_no_retry_after, b_applied, b_answered, b_sent =
    M.first, M.last, M.statuses, M.codes, M.no_retry_after, M.applied, M.answered, M.sent
end

function M.done(summary, latency)
  local first, last, statuses, codes, no_retry_after, applied, answered, sent = nil, nil, {}, {}, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    local f, l = thread:get("b_first"), thread:get("b_last")
    if f ~= nil and (first == nil or f < first) then first = f end
    if l ~= nil and (last == nil or l > last) then last = l end
    for status, n in pairs(thread:get("b_statuses") or {}) do statuses[status] = (statuses[status] or 0) + n end
    for code, n in pairs(thread:get("b_codes") or {}) do codes[code] = (codes[code] or 0) + n end
    sent = sent + (thread:get("b_sent") or 0)
    no_retry_after = no_retry_after + (thread:get("b_no_retry_after") or 0)
    applied = applied + (thread:get("b_applied") or 0)
    answered = answered + (thread:get("b_answered") or 0)
  end
  local parts, named = {}, {}
  for status, n in pairs(statuses) do table.insert(parts, string.format('"%d": %d', status, n)) end
  for code, n in pairs(codes) do table.insert(named, string.format('"%s": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    '{"sent": %d, "answered": %d, "statuses": {%s}, "codes": {%s}, "span_s": %.6f, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d}, "latency_ms": {"p50": %.2f, "p99": %.2f, "max": %.2f}, "no_retry_after": %d, "applied": %d}\n',
    sent, answered, table.concat(parts, ", "), table.concat(named, ", "), (first and last) and (last - first) or 0,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, no_retry_after, applied))
end

return M
