// An example modelgen transformer in JavaScript: every object gets the
// annotation `example.com/owner`, with the team named in the settings
// (`plugins[].settings.team` in modelgen.yaml).
//
// Built into a WebAssembly component with `jco componentize` (see README.md).

export const policy = {
  apply(objects, context) {
    let settings;
    try {
      settings = JSON.parse(context.settings);
    } catch (e) {
      settings = null;
    }
    if (!settings || typeof settings.team !== "string" || settings.team === "") {
      return {
        objects: undefined,
        findings: [
          {
            severity: "error",
            object: undefined,
            field: "settings.team",
            message: "the owner transformer needs `settings.team`",
            hint: "name the team that owns the application, for example `team: ml-platform`",
          },
        ],
      };
    }
    const line = `    example.com/owner: ${JSON.stringify(settings.team)}\n`;
    const changed = objects.map((object) => {
      // The generator writes `metadata` first, with `annotations` as its first key.
      const yaml = object.yaml.includes("\n  annotations:\n")
        ? object.yaml.replace("\n  annotations:\n", "\n  annotations:\n" + line)
        : object.yaml.replace("\nmetadata:\n", "\nmetadata:\n  annotations:\n" + line);
      return { yaml, source: object.source };
    });
    // A transformer: the full, changed list goes on to the next plugin.
    return { objects: changed, findings: [] };
  },
};
