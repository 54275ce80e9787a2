-- smflow.semver: semantic versions (semver.org 2.0.0): parse, compare, bump.
--
--   local semver = require "smflow.semver"
--   semver.bump("1.4.2", "minor")        --> "1.5.0"
--   semver.compare("1.0.0-rc.1", "1.0.0") --> -1
local M = {}

local Version = {}
Version.__index = Version

local function numeric_ok(s)
  return s:match("^%d+$") and (s == "0" or s:sub(1, 1) ~= "0")
end

local function split_ids(s, what, numeric_rule)
  local ids = {}
  for id in (s .. "."):gmatch("([^.]*)%.") do
    if id == "" or not id:match("^[0-9A-Za-z-]+$") then
      return nil, "empty or invalid " .. what .. " identifier"
    end
    if numeric_rule and id:match("^%d+$") and not numeric_ok(id) then
      return nil, what .. " identifier '" .. id .. "' has a leading zero"
    end
    ids[#ids + 1] = id
  end
  return ids
end

--- Parse "MAJOR.MINOR.PATCH[-PRE][+BUILD]" (a leading "v" is accepted).
--- Returns a version table {major, minor, patch, pre = {...} or nil, build = {...} or nil}
--- or nil and a message.
function M.parse(s)
  if type(s) == "table" and getmetatable(s) == Version then return s end
  if type(s) ~= "string" then return nil, "version must be a string" end
  local ma, mi, pa, rest = s:match("^v?(%d+)%.(%d+)%.(%d+)(.*)$")
  if not ma then return nil, "'" .. s .. "' is not MAJOR.MINOR.PATCH" end
  for _, n in ipairs({ma, mi, pa}) do
    if not numeric_ok(n) then return nil, "'" .. s .. "' has a leading zero" end
  end
  local v = setmetatable({major = tonumber(ma), minor = tonumber(mi), patch = tonumber(pa)}, Version)
  local pre, build = rest:match("^%-([^+]*)(.*)$")
  if pre then rest = build end
  if rest ~= "" then
    build = rest:match("^%+(.*)$")
    if not build then return nil, "'" .. s .. "' has trailing text" end
  else
    build = nil
  end
  local err
  if pre then
    v.pre, err = split_ids(pre, "pre-release", true)
    if not v.pre then return nil, "'" .. s .. "': " .. err end
  end
  if build then
    v.build, err = split_ids(build, "build", false)
    if not v.build then return nil, "'" .. s .. "': " .. err end
  end
  return v
end

local function must(v)
  local p, err = M.parse(v)
  if not p then error(err, 3) end
  return p
end

function Version.__tostring(v)
  local s = string.format("%d.%d.%d", v.major, v.minor, v.patch)
  if v.pre then s = s .. "-" .. table.concat(v.pre, ".") end
  if v.build then s = s .. "+" .. table.concat(v.build, ".") end
  return s
end

--- The text of a version (table or string).
function M.tostring(v)
  return tostring(must(v))
end

local function cmp(a, b)
  if a < b then return -1 elseif a > b then return 1 end
  return 0
end

local function cmp_pre(a, b)
  if not a and not b then return 0 end
  if not a then return 1 end  -- a release ranks above its pre-releases
  if not b then return -1 end
  for i = 1, math.max(#a, #b) do
    local x, y = a[i], b[i]
    if x == nil then return -1 end
    if y == nil then return 1 end
    local nx, ny = x:match("^%d+$") and tonumber(x), y:match("^%d+$") and tonumber(y)
    local c
    if nx and ny then c = cmp(nx, ny)
    elseif nx then c = -1  -- numeric identifiers rank below alphanumeric ones
    elseif ny then c = 1
    else c = cmp(x, y) end
    if c ~= 0 then return c end
  end
  return 0
end

--- -1, 0 or 1 by semver precedence (build metadata is ignored).
function M.compare(a, b)
  a, b = must(a), must(b)
  for _, k in ipairs({"major", "minor", "patch"}) do
    local c = cmp(a[k], b[k])
    if c ~= 0 then return c end
  end
  return cmp_pre(a.pre, b.pre)
end

Version.__eq = function(a, b) return M.compare(a, b) == 0 end
Version.__lt = function(a, b) return M.compare(a, b) < 0 end
Version.__le = function(a, b) return M.compare(a, b) <= 0 end

--- The next version as a string: part is "major", "minor" or "patch". Like npm's
--- semver, bumping a pre-release to the release it precedes just drops the tag.
function M.bump(v, part)
  v = must(v)
  local n = {major = v.major, minor = v.minor, patch = v.patch}
  local pre = v.pre ~= nil
  if part == "major" then
    if not (pre and v.minor == 0 and v.patch == 0) then n.major = n.major + 1 end
    n.minor, n.patch = 0, 0
  elseif part == "minor" then
    if not (pre and v.patch == 0) then n.minor = n.minor + 1 end
    n.patch = 0
  elseif part == "patch" then
    if not pre then n.patch = n.patch + 1 end
  else
    error("semver.bump: part must be \"major\", \"minor\" or \"patch\", not " .. tostring(part), 2)
  end
  return string.format("%d.%d.%d", n.major, n.minor, n.patch)
end

return M
