-- wrk script for the chat benchmarks (participants.py, messages.py): one request per call into a chat,
-- spread round-robin over the chats listed in a file.
--   wrk -s chat_requests.lua URL -- METHOD TARGETS_FILE KEY MODE PREFIX THREADS [TRACES_FILE]
-- MODE "adds": a participant change with a new handle each time; TARGETS_FILE holds one chat id per
-- line. MODE "pairs": it holds "chat_id handle" lines, each sent once (removes of what was added); a
-- thread stops when its share is used up. MODE "messages": a text message sent into each chat in turn.
-- PREFIX goes before /v3 ("/api/partner" for linq-server, "" for Prism); THREADS is wrk's -t. With
-- TRACES_FILE, done() writes the X-Trace-ID of every 202 there, one a line (to match them with webhooks).
-- Each thread counts 202s and other statuses and times its first request and last 202 (LuaJIT's FFI
-- reads the monotonic clock); done() prints one JSON line for the harness.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local timespec = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  method, key, prefix, nthreads = args[1], args[3], args[5], tonumber(args[6])
  pairs_mode, messages_mode = args[4] == "pairs", args[4] == "messages"
  traces_file = args[7]
  traces = {}
  targets = {}
  for line in io.lines(args[2]) do
    local chat, handle = line:match("^(%S+)%s*(%S*)$")
    if chat then table.insert(targets, { chat, handle }) end
  end
  sent, accepted, other, first, last, exhausted = 0, 0, 0, 0, 0, false
  statuses = {}
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  message_body = '{"message":{"parts":[{"type":"text","value":"load"}]}}'
end

function request()
  local n = sent * nthreads + id
  if sent == 0 then first = now() end
  sent = sent + 1
  local chat, handle
  if messages_mode then
    chat = targets[(n % #targets) + 1][1]
    return wrk.format(method, prefix .. "/v3/chats/" .. chat .. "/messages", headers, message_body)
  elseif pairs_mode then
    if n >= #targets then
      -- Used up: stop this thread, and send a harmless request in place of a repeat.
      exhausted = true
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
    end
    chat, handle = targets[n + 1][1], targets[n + 1][2]
  else
    chat = targets[(n % #targets) + 1][1]
    -- A 10-digit US number unique per request; a last digit below 6 is an iPhone in the sandbox.
    handle = string.format("+1415%06d%d", n % 1000000, n % 6)
  end
  local body = '{"handle":"' .. handle .. '"}'
  return wrk.format(method, prefix .. "/v3/chats/" .. chat .. "/participants", headers, body)
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
    last = now()
    if traces_file then traces[accepted] = headers["x-trace-id"] or headers["X-Trace-ID"] end
  elseif not (exhausted and status == 200) then
    other = other + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local accepted_total, other_total, by_status, codes = 0, 0, {}, {}
  local first_all, last_all, exhausted_any = math.huge, 0, false
  for _, thread in ipairs(threads) do
    first_all = math.min(first_all, thread:get("first"))
    last_all = math.max(last_all, thread:get("last"))
    exhausted_any = exhausted_any or thread:get("exhausted")
    accepted_total = accepted_total + thread:get("accepted")
    other_total = other_total + thread:get("other")
    for status, count in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  local traces_file = threads[1]:get("traces_file")
  if traces_file then
    local out = assert(io.open(traces_file, "w"))
    for _, thread in ipairs(threads) do
      for _, trace in ipairs(thread:get("traces")) do out:write(trace, "\n") end
    end
    out:close()
  end
  for status, count in pairs(by_status) do
    codes[#codes + 1] = string.format('"%d": %d', status, count)
  end
  io.write(string.format(
    '\nRESULT {"seconds": %f, "accepting_seconds": %f, "exhausted": %s, "requests": %d, "accepted": %d, "other": %d, "errors": %d, ' ..
    '"p50_ms": %f, "p90_ms": %f, "p99_ms": %f, "max_ms": %f, "statuses": {%s}}\n',
    summary.duration / 1e6, last_all - first_all, tostring(exhausted_any), summary.requests, accepted_total, other_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(codes, ", ")))
end
