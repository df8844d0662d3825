-- Each request creates a service account of its own name in account KW_ACCOUNT,
-- as KW_KEY. Names are KW_PREFIX, the thread's number and a counter, so that no
-- two requests of a run (nor two runs with different prefixes) clash. A request
-- whose answer has no service account counts as failed; done() prints
-- "failed N".
local counter = 0
failed = 0 -- global, for done() to read through thread:get
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("id", made) -- the global `id` of the thread's own state
  table.insert(threads, thread)
end

function init(args)
  prefix = os.getenv("KW_PREFIX") or "w"
  account = os.getenv("KW_ACCOUNT")
  headers = { ["Content-Type"] = "application/json", ["x-api-key"] = os.getenv("KW_KEY") }
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"query":"mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: '
      .. '{ accountId: $a, name: $n, roleCode: \\"Viewer\\" }) { serviceAccount { id } } }",'
      .. '"variables":{"a":"%s","n":"%s-%d-%d"}}',
    account, prefix, id, counter)
  return wrk.format("POST", "/graphql", headers, body)
end

response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"serviceAccount":{"id"', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("failed") or 0)
  end
  io.write(string.format("failed %d\n", total))
end
