"""Puts a service account in a group granted `jobs:run` on project `web`, through
the GraphQL API, for the benchmark's permission-checking `/v1/verify` case.
Usage: grant.py URL ADMIN_TOKEN ACCOUNT_ID SERVICE_ACCOUNT_ID"""

import json
import sys
import urllib.request

url, token, account, service_account = sys.argv[1:5]


def gql(query, variables):
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json", "x-api-key": token},
    )
    body = json.load(urllib.request.urlopen(request))
    if body.get("errors"):
        sys.exit(f"grant.py: {body['errors']}")
    return body["data"]


made = gql(
    """mutation($a: ObjectID!) {
         project: createProject(input: { accountId: $a, name: "web" }) { project { id } }
         permission: createPermission(input: { accountId: $a, name: "jobs:run" }) { permission { id } }
         set: createPermissionSet(input: { accountId: $a, name: "runner", permissions: ["jobs:run"] }) { permissionSet { id } }
         group: createGroup(input: { accountId: $a, name: "ci" }) { group { id } }
       }""",
    {"a": account},
)
gql(
    """mutation($g: ObjectID!, $s: ObjectID!, $p: ObjectID!, $m: ObjectID!) {
         createGroupGrant(input: { groupId: $g, permissionSetId: $s, projectIds: [$p] }) { groupGrant { id } }
         addGroupMembers(input: { groupId: $g, memberIds: [$m] }) { group { id } }
       }""",
    {
        "g": made["group"]["group"]["id"],
        "s": made["set"]["permissionSet"]["id"],
        "p": made["project"]["project"]["id"],
        "m": service_account,
    },
)
