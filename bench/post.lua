-- wrk script for bench/run: POST a fixed JSON body with
-- Content-Type: application/json on every request.
--
-- The body file is taken from the first script argument
--   wrk ... -s bench/post.lua http://127.0.0.1:PORT/ -- /path/to/body.json
-- or, failing that, from the WEBHOOKY_BENCH_BODY environment variable.
--
-- wrk calls init() once per thread (each thread has its own Lua state) and
-- builds one static request from wrk.method/headers/body afterwards, so the
-- file is read once per thread, never per request.

local function slurp(path)
   local f, err = io.open(path, "rb")
   if not f then
      error("post.lua: cannot open body file: " .. tostring(err))
   end
   local data = f:read("*a")
   f:close()
   return data
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   local path = args[1]
   if path == nil or path == "" then
      path = os.getenv("WEBHOOKY_BENCH_BODY")
   end
   if path == nil or path == "" then
      error("post.lua: no body file (pass it after '--' or set WEBHOOKY_BENCH_BODY)")
   end
   wrk.body = slurp(path)
end
