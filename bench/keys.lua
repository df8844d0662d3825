-- Requests that take turns through the keys listed in the file KW_KEYS, one
-- per line, as x-api-key: KW_METHOD (default GET) to KW_PATH, with KW_BODY as
-- a JSON body when it is set.
local keys = {}
for line in io.lines(os.getenv("KW_KEYS")) do
  keys[#keys + 1] = line
end
local method = os.getenv("KW_METHOD") or "GET"
local path = os.getenv("KW_PATH")
local body = os.getenv("KW_BODY")
local next_key = 0

request = function()
  next_key = next_key % #keys + 1
  local headers = { ["x-api-key"] = keys[next_key] }
  if body ~= nil and body ~= "" then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end
