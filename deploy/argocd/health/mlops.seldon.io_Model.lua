-- Argo CD health of a Seldon Core 2 Model (mlops.seldon.io/v1alpha1).
-- The controller mirrors the scheduler's model state into the ModelReady condition
-- (the state, such as ModelAvailable, ModelProgressing, ModelFailed or ScheduleFailed,
-- and its reason), and Ready follows it.
local hs = {}
local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to load the model"
  return hs
end
local ready, model
for _, condition in ipairs(status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "ModelReady" then
    model = condition
  end
end
-- "<message>: <reason>", either alone, or `default` (a table literal cannot
-- hold a nil message, so each is checked on its own).
local function describe(condition, default)
  local message, reason = condition.message, condition.reason
  local has_message = message ~= nil and message ~= ""
  local has_reason = reason ~= nil and reason ~= ""
  if has_message and has_reason then
    return message .. ": " .. reason
  elseif has_message then
    return message
  elseif has_reason then
    return reason
  end
  return default
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(model or ready, "Model loaded")
  return hs
end
local condition = model or ready
if condition == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to load the model"
  return hs
end
local text = describe(condition, "Model not ready")
-- Failed states (ModelFailed, ScheduleFailed, ModelTerminateFailed) need a person;
-- anything else (ModelProgressing, ModelStateUnknown) settles by itself.
if condition.status == "False" and string.find(string.lower(text), "fail") then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = text
return hs
