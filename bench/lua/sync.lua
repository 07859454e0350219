-- Offline sync batches: each line of the requests file is "<bearer token>\t<JSON body>", sent once, thread k taking
-- lines k, k + threads, …; counts the operations answered "applied". Arguments: markers, threads, requests file.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local bench = require("common")
local mine = {}

setup = bench.setup
delay = bench.delay

function init(args)
  local threads, k = tonumber(args[2]), 0
  for line in io.lines(args[3]) do
    if k % threads == id then
      local token, body = line:match("^([^\t]*)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
      table.insert(mine, wrk.format("POST", "/api/v1/sync", headers, body))
    end
    k = k + 1
  end
  bench.init(args, #mine)
end

function request()
  local k = bench.sending()
  if k == nil then return bench.filler() end
  return mine[k]
end

function response(status, headers, body)
  if status == 200 then
    local _, n = body:gsub('"status": ?"applied"', "")
    bench.applied = bench.applied + n
  end
  bench.answer(status, headers, body)
end

done = bench.done
