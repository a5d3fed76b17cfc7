-- POST /customers with a unique e-mail per request (run id, thread number, counter).
-- usage: wrk -s post-customers.lua URL -- TENANT TOKEN RUN [PATH=/customers]
local next_thread = 1
local counter = 0

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  headers = { ["X-Tenant"] = args[1], ["Authorization"] = "Bearer " .. args[2], ["Content-Type"] = "application/json" }
  run = args[3]
  path = args[4] or "/customers"
end

function request()
  counter = counter + 1
  local unique = string.format("%s-%d-%d", run, thread_number, counter)
  local body = string.format(
    '{"name":"Customer %s","legalName":"Customer %s Ltd","email":"c-%s@bench.test","phone":"+41446681800","projects":[{"name":"Main","code":"MAIN"}]}',
    unique, unique, unique)
  return wrk.format("POST", path, headers, body)
end
