"""{{name}}: a modelgen policy plugin (contract `modelgen:policy`, in `wit/policy.wit`).

`apply` gets every object the generator rendered, as YAML, and returns
findings (errors block the render, warnings do not) and, to change the
objects, the full new list. This one warns about objects without a `team`
label; replace the rule with yours.
"""

from wit_world import exports
from wit_world.exports.policy import Context, Finding, Object, Outcome, Severity


class Policy(exports.Policy):
    def apply(self, objects: list[Object], context: Context) -> Outcome:
        findings = []
        for index, obj in enumerate(objects):
            # The generator writes one label per line under `labels:`.
            if not any(line.strip().startswith("team:") for line in obj.yaml.splitlines()):
                findings.append(
                    Finding(
                        Severity.WARNING,
                        index,
                        "metadata.labels",
                        "the object has no `team` label",
                        "set `metadata.labels.team` in the spec",
                    )
                )
        # `None`: the objects are unchanged.
        return Outcome(None, findings)
