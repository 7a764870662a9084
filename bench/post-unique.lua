-- wrk script for bench/run --unique: like post.lua, but every request's body carries a new
-- "id" ("THREAD-N" at the front of the same 1 KiB JSON), so every delivery is a message of its
-- own: the worst case for the receiver's per-message attempt counting.
--
-- The body file is taken from the first script argument, as for post.lua.

local function slurp(path)
   local f, err = io.open(path, "rb")
   if not f then
      error("post-unique.lua: cannot open body file: " .. tostring(err))
   end
   local data = f:read("*a")
   f:close()
   return data
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local counter = 0
local threads = 0
local rest = "}"

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   local path = args[1]
   if path == nil or path == "" then
      path = os.getenv("WEBHOOKY_BENCH_BODY")
   end
   if path == nil or path == "" then
      error("post-unique.lua: no body file (pass it after '--' or set WEBHOOKY_BENCH_BODY)")
   end
   local body = slurp(path)
   -- the body is a JSON object: keep what follows its opening brace
   rest = string.sub(body, 2)
end

function request()
   counter = counter + 1
   return wrk.format(nil, nil, nil, '{"id":"' .. tostring(tid) .. "-" .. counter .. '",' .. rest)
end
