-- Requests that take turns through the keys listed in the file KW_KEYS, one
-- per line, as x-api-key: KW_METHOD (default GET) to KW_PATH, with KW_BODY as
-- a JSON body when it is set. With KW_DELAY_MS, each connection waits that
-- long between its requests, which paces the load at about
-- connections * 1000 / KW_DELAY_MS a second.
local keys = {}
for line in io.lines(os.getenv("KW_KEYS")) do
  keys[#keys + 1] = line
end
local method = os.getenv("KW_METHOD") or "GET"
local path = os.getenv("KW_PATH")
local body = os.getenv("KW_BODY")
local pause = tonumber(os.getenv("KW_DELAY_MS") or "")
local next_key = 0

request = function()
  next_key = next_key % #keys + 1
  local headers = { ["x-api-key"] = keys[next_key] }
  if body ~= nil and body ~= "" then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end

if pause ~= nil and pause > 0 then
  delay = function()
    return pause
  end
end
