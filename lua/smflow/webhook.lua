-- smflow.webhook: chat messages about a run, as Slack-style JSON payloads
-- (Slack incoming webhooks; Mattermost and Rocket.Chat accept the same shape).
--
--   local webhook = require "smflow.webhook"
--   function notify(run) smflow.log(webhook.payload(run)) end
--
-- `run` is the table hooks receive: {id, name, status, started_at, duration,
-- steps = {ID = {state, error = {class, message}, outputs}}}; `step` (optional)
-- the step the message is about.
local smflow = require "smflow"

local M = {}

local ICONS = {
  succeeded = ":white_check_mark:", failed = ":x:", cancelled = ":no_entry_sign:",
  skipped = ":fast_forward:", running = ":hourglass_flowing_sand:",
}

--- Escape the three characters Slack's mrkdwn treats as control characters.
function M.escape(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function status_of(t)
  return t and (t.status or t.state) or "unknown"
end

local function failed_steps(run)
  local ids = {}
  for id, st in pairs(run.steps or {}) do
    if type(st) == "table" and status_of(st) == "failed" then ids[#ids + 1] = id end
  end
  table.sort(ids)
  return ids
end

--- One line summarising the run (or the step).
function M.text(run, step)
  local status = status_of(step or run)
  local icon = ICONS[status] or ":grey_question:"
  local name = M.escape(run.name or "pipeline")
  if step then
    local s = string.format("%s *%s* step `%s` %s", icon, name, M.escape(step.id or "?"), status)
    if step.error then
      s = s .. string.format(": %s: %s", M.escape(step.error.class or "Error"),
                             M.escape(step.error.message or ""))
    end
    return s
  end
  local s = string.format("%s *%s* run `%s` %s", icon, name, M.escape(run.id or "?"), status)
  local failed = failed_steps(run)
  if #failed > 0 then
    s = s .. " (failed: " .. M.escape(table.concat(failed, ", ")) .. ")"
  end
  return s
end

--- The payload table: {text, blocks} (plus channel/username when given in opts).
function M.message(run, step, opts)
  opts = opts or {}
  local text = M.text(run, step)
  local context = {}
  if run.id then context[#context + 1] = "run " .. M.escape(run.id) end
  if run.started_at then context[#context + 1] = "started " .. M.escape(run.started_at) end
  if run.duration then context[#context + 1] = "took " .. M.escape(run.duration) end
  local blocks = {{type = "section", text = {type = "mrkdwn", text = text}}}
  if #context > 0 then
    blocks[2] = {type = "context", elements = {{type = "mrkdwn", text = table.concat(context, " · ")}}}
  end
  return {text = text, blocks = blocks, channel = opts.channel, username = opts.username}
end

--- The payload as JSON text, ready to POST.
function M.payload(run, step, opts)
  return smflow.json.encode(M.message(run, step, opts))
end

return M
