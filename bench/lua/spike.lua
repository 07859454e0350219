-- The public booking spike: each request a new phone (its own rate-limit client behind the trusted proxy) with
-- its own Idempotency-Key (under the run's tag), round-robin over the sessions. Arguments: markers, threads,
-- attempts, tag, session ids…
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local bench = require("common")
local sessions, tag = {}, nil

setup = bench.setup
delay = bench.delay

function init(args)
  tag = args[4]
  for i = 5, #args do table.insert(sessions, args[i]) end
  local attempts, threads = tonumber(args[3]), tonumber(args[2])
  -- threads share the attempts: the first ones take the remainder
  local quota = math.floor(attempts / threads) + ((id < attempts % threads) and 1 or 0)
  bench.init(args, quota)
end

function request()
  local k = bench.sending()
  if k == nil then return bench.filler() end
  local n = id * 1000000 + k
  local body = string.format('{"session_id":"%s","name":"访客","phone":"139%08d"}', sessions[n % #sessions + 1], n)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = tag .. "-" .. n,
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256),
  }
  return wrk.format("POST", "/api/v1/public/bookings", headers, body)
end

function response(status, headers, body)
  bench.answer(status, headers, body)
end

done = bench.done
