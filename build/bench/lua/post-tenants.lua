-- POST /customers spread over tenants: a tenant + token picked at random per request from a file of
-- "tenant token" lines, a unique e-mail per request (run id, thread number, counter).
-- usage: wrk -s post-tenants.lua URL -- FILE RUN
local next_thread = 1
local counter = 0
local tenants = {}

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local tenant, token = line:match("^(%S+) (%S+)$")
    if tenant then
      tenants[#tenants + 1] = { ["X-Tenant"] = tenant, ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    end
  end
  run = args[2]
  math.randomseed(os.time() * 1000 + thread_number)
end

function request()
  counter = counter + 1
  local unique = string.format("%s-%d-%d", run, thread_number, counter)
  local body = string.format(
    '{"name":"Customer %s","legalName":"Customer %s Ltd","email":"c-%s@bench.test","phone":"+41446681800","projects":[{"name":"Main","code":"MAIN"}]}',
    unique, unique, unique)
  return wrk.format("POST", "/customers", tenants[math.random(#tenants)], body)
end
