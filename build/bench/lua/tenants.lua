-- GET /customers?limit=50 with a tenant + token picked at random per request from a file of "tenant token" lines; with
-- "post RUN", POST /customers instead, with a unique e-mail per request (RUN, thread number, counter).
-- usage: wrk -s tenants.lua URL -- FILE [post RUN]   (GET requests are formatted once per thread, in init)
local next_thread = 1
local counter = 0
local tenants = {}
local requests = {}

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  post, run = args[2] == "post", args[3]
  for line in io.lines(args[1]) do
    local tenant, token = line:match("^(%S+) (%S+)$")
    if tenant then
      tenants[#tenants + 1] = { ["X-Tenant"] = tenant, ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
      requests[#requests + 1] = wrk.format("GET", "/customers?limit=50", tenants[#tenants])
    end
  end
  math.randomseed(os.time() * 1000 + #requests + math.floor(os.clock() * 1000000))
end

function request()
  if not post then
    return requests[math.random(#requests)]
  end
  counter = counter + 1
  local unique = string.format("%s-%d-%d", run, thread_number, counter)
  local body = string.format(
    '{"name":"Customer %s","legalName":"Customer %s Ltd","email":"c-%s@bench.test","phone":"+41446681800","projects":[{"name":"Main","code":"MAIN"}]}',
    unique, unique, unique)
  return wrk.format("POST", "/customers", tenants[math.random(#tenants)], body)
end
