"""An example modelgen policy plugin in Python: no model is loaded over a forbidden URI scheme.

Built into a WebAssembly component with componentize-py (see README.md).
The settings (``plugins[].settings`` in ``modelgen.yaml``) may list
``forbiddenSchemes``; the default forbids plain ``http``, which anyone on
the path can tamper with.
"""

import json

from wit_world import exports
from wit_world.exports.policy import Context, Finding, Object, Outcome, Severity

URI_FIELDS = ("storageUri:", "modelUri:")


class Policy(exports.Policy):
    def apply(self, objects: list[Object], context: Context) -> Outcome:
        try:
            settings = json.loads(context.settings)
            schemes = settings.get("forbiddenSchemes", ["http"])
        except (ValueError, AttributeError) as e:
            return Outcome(None, [Finding(Severity.ERROR, None, "settings", f"the settings are wrong: {e}", None)])
        findings = []
        for index, obj in enumerate(objects):
            for line in obj.yaml.splitlines():
                text = line.strip().removeprefix("- ")
                for field in URI_FIELDS:
                    if not text.startswith(field):
                        continue
                    uri = text[len(field):].strip().strip("'\"")
                    scheme = uri.split("://", 1)[0] if "://" in uri else ""
                    if scheme in schemes:
                        findings.append(
                            Finding(
                                Severity.ERROR,
                                index,
                                field.rstrip(":"),
                                f"the model URI `{uri}` uses the forbidden scheme `{scheme}`",
                                "serve the model from object storage (`s3://`, `gs://`) or over `https://`",
                            )
                        )
        # A policy: the objects go on unchanged.
        return Outcome(None, findings)
