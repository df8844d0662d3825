-- A flood of distinct well-formed unknown tokens, each from an address of its
-- own as a trusted proxy names it: GET KW_PATH with the tokens of the file
-- KW_TOKENS in turn, from line KW_OFFSET on, and X-Forwarded-For a random
-- address in 10.0.0.0/8. Each connection waits KW_DELAY_MS between its
-- requests, which paces the flood at about connections * 1000 / KW_DELAY_MS
-- a second.
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
  return wrk.format("GET", path, { ["x-api-key"] = tokens[next_token], ["x-forwarded-for"] = address })
end

delay = function()
  return pause
end
