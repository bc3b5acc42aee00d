-- Argo CD health of a KServe LLMInferenceService (serving.kserve.io/v1alpha2, KServe v0.20.0).
-- The controller keeps Knative-style conditions: Ready rolls up WorkloadsReady and
-- RouterReady (and their sub-conditions); PresetsCombined is outside the roll-up and,
-- when False, stops reconciliation; GroupDegraded is True when a routing-group member
-- serves other model names and is left out of the split. A stopped service marks its
-- conditions with reason Stopped. observedGeneration is bumped after every reconcile.
local hs = {}
local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for KServe to reconcile the LLMInferenceService"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for KServe to reconcile generation " .. tostring(generation)
  return hs
end
-- "Type: reason: message" of a condition, with what it has.
local function describe(condition)
  local text = condition.type
  if condition.reason ~= nil and condition.reason ~= "" then
    text = text .. ": " .. condition.reason
  end
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end
-- Reasons that need a person: a rollout past its deadline, a reconcile error,
-- a missing preset, CRD or reference. Anything else (pods starting, a Gateway
-- still accepting the route) settles by itself.
local function failed(reason)
  if reason == nil then
    return false
  end
  return reason == "ProgressDeadlineExceeded" or reason == "GatewayPreconditionNotMet" or reason == "RefsInvalid"
    or string.find(reason, "Error$") ~= nil or string.find(reason, "NotFound$") ~= nil
end
local ready, presets, degraded_group
local stopped = false
local problems = {}
local failure = false
for _, condition in ipairs(status.conditions) do
  if condition.reason == "Stopped" then
    stopped = true
  end
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "PresetsCombined" then
    presets = condition
  elseif condition.type == "GroupDegraded" then
    if condition.status == "True" then
      degraded_group = condition
    end
  elseif condition.status == "False" then
    table.insert(problems, describe(condition))
    if failed(condition.reason) then
      failure = true
    end
  end
end
if stopped then
  hs.status = "Suspended"
  hs.message = "The LLMInferenceService is stopped"
  return hs
end
if presets ~= nil and presets.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(presets)
  return hs
end
if ready ~= nil and ready.status == "True" then
  if degraded_group ~= nil then
    hs.status = "Degraded"
    hs.message = describe(degraded_group)
    return hs
  end
  hs.status = "Healthy"
  hs.message = "Ready"
  return hs
end
if failure then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
if #problems > 0 then
  hs.message = table.concat(problems, "; ")
elseif ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the LLMInferenceService to be ready"
end
return hs
