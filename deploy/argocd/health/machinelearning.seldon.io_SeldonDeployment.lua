-- Argo CD health of a Seldon Core v1 SeldonDeployment (machinelearning.seldon.io/v1).
-- The operator reports status.state (Creating, Available, Failed) with a description.
local hs = {}
local status = obj.status
if status == nil or status.state == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon operator"
  return hs
end
-- No generation check: Seldon Core v1.17.1's operator never records which
-- generation its status describes (operator/controllers/seldondeployment_controller.go
-- sets state and description only), so the state may lag a new spec by one
-- reconcile; the operator moves it to Creating while the new pods roll out.
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
