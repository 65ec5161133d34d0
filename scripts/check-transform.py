"""The template as CloudFormation deploys it, offline: AWS::LanguageExtensions (SAM CLI's own
local implementation) and then the SAM transform, once for classic Lambda and once on a Lambda
Managed Instances capacity provider, and once with PlaygroundOrigins (CORS for a hosted API
playground). Fails on any transform error, and checks what the README promises of the deployed
stack. Run by `make build` from .tools/build-venv (aws-sam-cli).

usage: check-transform.py template.yaml
"""

import copy
import json
import sys

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

FUNCTION = "DisconnectIntegrationFunction"
MODES = {
    "classic": {},
    "managed instances": {
        "CapacityProviderArn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:example",
    },
    "playground origins": {
        "PlaygroundOrigins": "https://docs.example.com,http://127.0.0.1:9768",
    },
}
# CORS only with PlaygroundOrigins: exactly those origins, DELETE and x-api-key.
PLAYGROUND_CORS = {
    "allowOrigins": ["https://docs.example.com", "http://127.0.0.1:9768"],
    "allowMethods": ["DELETE"],
    "allowHeaders": ["x-api-key"],
    "exposeHeaders": ["x-request-id", "retry-after", "allow"],
    "maxAge": 600,
}


class NoManagedPolicies:
    """The template names no managed policy, so no IAM look-up is needed."""

    def load(self):
        return {}


def deployed(template, parameters):
    template = process_template(copy.deepcopy(template), parameters)
    template["Transform"] = [
        t for t in template["Transform"] if t != "AWS::LanguageExtensions"
    ]
    # `sam build` replaces CodeUri with the built artefact's S3 location.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    return transform(template, parameters, NoManagedPolicies())


def check(mode, out):
    problems = []
    resources = out["Resources"]
    function = resources[FUNCTION]["Properties"]
    capacity = function.get("CapacityProviderConfig")
    if (mode == "managed instances") != (capacity is not None):
        problems.append(f"CapacityProviderConfig is {json.dumps(capacity)}")
    aliases = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Alias"]
    if [a["Properties"]["Name"] for a in aliases] != ["live"]:
        problems.append("no single alias named live")
    routes = set()
    for api in (r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"):
        cors = api["Properties"]["Body"].get("x-amazon-apigateway-cors")
        expected = PLAYGROUND_CORS if mode == "playground origins" else None
        if cors != expected:
            problems.append(f"CORS {json.dumps(cors)}, not {json.dumps(expected)}")
        for path, methods in api["Properties"]["Body"]["paths"].items():
            for method, operation in methods.items():
                routes.add(f"{method} {path}")
                uri = json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
                if "Aliaslive" not in uri:
                    problems.append(f"{method} {path} does not invoke the live alias: {uri}")
    if routes != {"x-amazon-apigateway-any-method /v1/integration/{integrationId}",
                  "x-amazon-apigateway-any-method $default"}:
        problems.append(f"routes {sorted(routes)}, not the two of the README")
    permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    for permission in permissions:
        target = json.dumps(permission["Properties"]["FunctionName"])
        if "Aliaslive" not in target:
            problems.append(f"a permission not on the live alias: {target}")
    groups = [r for r in resources.values() if r["Type"] == "CodeDeploy::DeploymentGroup"
              or r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    if len(groups) != 1:
        problems.append(f"{len(groups)} CodeDeploy deployment groups")
    elif not groups[0]["Properties"].get("AlarmConfiguration", {}).get("Alarms"):
        problems.append("the deployment group rolls back on no alarm")
    return problems, routes


def main():
    template = yaml_parse(open(sys.argv[1]).read())
    failed = False
    for mode, parameters in MODES.items():
        try:
            out = deployed(template, parameters)
        except Exception as error:  # the transform's own errors, as SAM would report them
            print(f"check-transform: {mode}: the transform fails: {error}", file=sys.stderr)
            failed = True
            continue
        problems, routes = check(mode, out)
        for problem in problems:
            print(f"check-transform: {mode}: {problem}", file=sys.stderr)
        failed |= bool(problems)
        if not problems:
            cors = "CORS for PlaygroundOrigins" if mode == "playground origins" else "no CORS"
            print(f"check-transform: {mode}: {len(out['Resources'])} resources; routes "
                  f"{', '.join(sorted(routes))}; both invoke the live alias; {cors}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
