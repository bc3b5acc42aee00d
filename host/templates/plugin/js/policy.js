// {{name}}: a modelgen policy plugin (contract `modelgen:policy`, in `wit/policy.wit`).
//
// `apply` gets every object the generator rendered, as YAML, and returns
// findings (errors block the render, warnings do not) and, to change the
// objects, the full new list. This one warns about objects without a `team`
// label; replace the rule with yours.

export const policy = {
  apply(objects, context) {
    const findings = [];
    objects.forEach((object, index) => {
      // The generator writes one label per line under `labels:`.
      if (!object.yaml.split("\n").some((line) => line.trim().startsWith("team:"))) {
        findings.push({
          severity: "warning",
          object: index,
          field: "metadata.labels",
          message: "the object has no `team` label",
          hint: "set `metadata.labels.team` in the spec",
        });
      }
    });
    // `undefined`: the objects are unchanged.
    return { objects: undefined, findings };
  },
};
