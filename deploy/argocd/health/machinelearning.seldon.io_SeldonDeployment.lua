-- Argo CD health of a Seldon Core v1 SeldonDeployment (machinelearning.seldon.io/v1).
-- The operator reports status.state (Creating, Available, Failed) with a description.
local hs = {}
local status = obj.status
if status == nil or status.state == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon operator"
  return hs
end
-- A status written for an older spec says nothing about the current one.
if status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon operator to act on the latest change"
  return hs
end
local description = status.description
if description == nil or description == "" then
  description = status.state
end
if status.state == "Available" then
  hs.status = "Healthy"
elseif status.state == "Failed" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = description
return hs
