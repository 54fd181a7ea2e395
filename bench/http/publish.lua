-- wrk script for bench/http.sh: POST a fixed body of BODY_BYTES (default 100) bytes to the URL's
-- subject, over keep-alive connections; any answer other than 200 counts as an error (wrk's
-- "Non-2xx or 3xx responses").
local size = tonumber(os.getenv("BODY_BYTES") or "100")
wrk.method = "POST"
wrk.body = string.rep("x", size)
wrk.headers["Content-Type"] = "application/octet-stream"
