-- Holders' reports of leaked credentials: POST KW_PATH with {"token": ...}
-- for the tokens of the file KW_TOKENS in turn, from line KW_OFFSET on, each
-- from a random address in 10.0.0.0/8 as a trusted proxy names it. Each
-- connection waits KW_DELAY_MS between its reports. With KW_PATH /healthz
-- it sends the same requests' pace to the health check instead: the control
-- that a second client alone costs.
local tokens = {}
for line in io.lines(os.getenv("KW_TOKENS")) do
  tokens[#tokens + 1] = line
end
local path = os.getenv("KW_PATH")
local pause = tonumber(os.getenv("KW_DELAY_MS"))
local next_token = tonumber(os.getenv("KW_OFFSET") or "0")
math.randomseed(next_token + 1)

request = function()
  next_token = next_token % #tokens + 1
  local address = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  if path == "/healthz" then
    return wrk.format("GET", path, { ["x-forwarded-for"] = address })
  end
  local body = '{"token":"' .. tokens[next_token] .. '"}'
  return wrk.format("POST", path, { ["content-type"] = "application/json", ["x-forwarded-for"] = address }, body)
end

delay = function()
  return pause
end
