-- GET /customers?limit=50 with a tenant + token picked at random per request from a file of "tenant token" lines.
-- usage: wrk -s tenants.lua URL -- FILE   (the requests are formatted once per thread, in init)
local requests = {}

function init(args)
  for line in io.lines(args[1]) do
    local tenant, token = line:match("^(%S+) (%S+)$")
    if tenant then
      requests[#requests + 1] = wrk.format("GET", "/customers?limit=50",
        { ["X-Tenant"] = tenant, ["Authorization"] = "Bearer " .. token })
    end
  end
  math.randomseed(os.time() * 1000 + #requests + math.floor(os.clock() * 1000000))
end

function request()
  return requests[math.random(#requests)]
end
