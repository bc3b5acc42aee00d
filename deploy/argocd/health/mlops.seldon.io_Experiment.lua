-- Argo CD health of a Seldon Core 2 Experiment (mlops.seldon.io/v1alpha1).
-- The controller sets ExperimentReady, CandidatesReady and MirrorReady from the
-- scheduler's events, and Ready follows them; when the scheduler refuses the
-- experiment, the controller records the error in a ModelReady condition.
local hs = {}
local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to start the experiment"
  return hs
end
local conditions = {}
for _, condition in ipairs(status.conditions) do
  conditions[condition.type] = condition
end
local function text(condition, default)
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason
  end
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  return default
end
local refused = conditions["ModelReady"]
if refused ~= nil and refused.status == "False" then
  hs.status = "Degraded"
  hs.message = text(refused, "The scheduler refused the experiment")
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(conditions["ExperimentReady"] or ready, "Experiment active")
  return hs
end
local experiment = conditions["ExperimentReady"]
if experiment ~= nil and experiment.status == "False" and string.find(string.lower(text(experiment, "")), "fail") then
  hs.status = "Degraded"
  hs.message = text(experiment, "Experiment failed")
  return hs
end
hs.status = "Progressing"
if conditions["CandidatesReady"] ~= nil and conditions["CandidatesReady"].status ~= "True" then
  hs.message = "Waiting for the candidate models to be ready"
elseif conditions["MirrorReady"] ~= nil and conditions["MirrorReady"].status ~= "True" then
  hs.message = "Waiting for the mirror model to be ready"
elseif experiment ~= nil then
  hs.message = text(experiment, "Waiting for the experiment to start")
else
  hs.message = "Waiting for the experiment to start"
end
return hs
