-- smflow.versioned: the `PREFIX-%Y%m%d-%H%M%S` convention for versioned output
-- paths (default prefix "model"), all in UTC, so that names sort by time.
--
--   local versioned = require "smflow.versioned"
--   versioned.name()                         --> "model-20261122-001600"
--   versioned.path("s3://b/models", nil, t)  --> "s3://b/models/model-20261122-001600/"
--   versioned.latest({"model-2026...", ...}) --> the newest name
local smflow = require "smflow"

local M = {}

M.FORMAT = "%Y%m%d-%H%M%S"

-- Days since 1970-01-01 of a civil date (proleptic Gregorian calendar).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- The name for time `t` (seconds since the epoch; default now).
function M.name(prefix, t)
  return (prefix or "model") .. "-" .. smflow.time.format(M.FORMAT, t)
end

--- `base` joined with the name, as a prefix ending in "/".
function M.path(base, prefix, t)
  return smflow.uri.join(base, M.name(prefix, t)) .. "/"
end

--- Split a name (or the last part of a path) into prefix and epoch seconds;
--- nil when it does not follow the convention.
function M.parse(name)
  local last = tostring(name):gsub("/+$", ""):match("([^/]*)$")
  local prefix, y, mo, d, h, mi, s =
      last:match("^(.-)%-(%d%d%d%d)(%d%d)(%d%d)%-(%d%d)(%d%d)(%d%d)$")
  if not prefix or prefix == "" then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  return prefix, days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
end

--- The newest of `names` that follow the convention (with `prefix`, if given), or nil.
function M.latest(names, prefix)
  local best, best_t
  for _, n in ipairs(names) do
    local p, t = M.parse(n)
    if p and (prefix == nil or p == prefix) and (best_t == nil or t > best_t) then
      best, best_t = n, t
    end
  end
  return best
end

return M
