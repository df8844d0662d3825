-- POST a GraphQL body from KW_BODY, with KW_KEY as x-api-key when it is set.
wrk.method = "POST"
wrk.body = os.getenv("KW_BODY")
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("KW_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["x-api-key"] = key
end
