-- GETs of one path, a fixed number in all; "many" gives each request its own client address (behind the trusted
-- proxy), "one" sends them all as one client. Arguments: markers, threads, count, path, many|one.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local bench = require("common")
local path, many

setup = bench.setup
delay = bench.delay

function init(args)
  local count, threads = tonumber(args[3]), tonumber(args[2])
  path, many = args[4], args[5] == "many"
  bench.init(args, math.floor(count / threads) + ((id < count % threads) and 1 or 0))
end

function request()
  local k = bench.sending()
  if k == nil then return bench.filler() end
  local n = id * 1000000 + k
  local headers = {}
  if many then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format("GET", path, headers, nil)
end

function response(status, headers, body)
  bench.answer(status, headers, body)
end

done = bench.done
