"""The console and GraphiQL in a real browser.

Run by the e2e test `console::the_console_in_a_browser` against a fresh server:

    python console.py --url URL --admin-token TOKEN --other-admin-token TOKEN \
        --chromium /usr/bin/chromium [--screenshots DIR]

It drives the pages as an admin would, checks every effect through the API or
/v1/verify, and fails on any request to another origin, any violation of the
pages' Content-Security-Policy and any script error. With --screenshots, it
saves a picture of each page there.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

AXE = Axe()
# The rules of WCAG 2.1, levels A and AA: names and labels, contrast, structure.
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

# Collects what the page's policy refused; installed before any script runs.
CSP_WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


class Browser:
    """One tab, and everything it must not do."""

    def __init__(self, context, base: str, shots: Path | None, token: str):
        self.base = base
        self.token = token
        self.shots = shots
        self.page: Page = context.new_page()
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.violations: list[str] = []
        self.page.add_init_script(CSP_WATCH)
        self.page.on("request", self._request)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" and "401" not in m.text else None,
        )
        self.page.on("framenavigated", self._collect_violations)
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status == 404 else None,
        )

    def _request(self, request):
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if not (url == self.base or url.startswith(self.base + "/")):
            self.foreign.append(url)

    def _collect_violations(self, _frame=None):
        try:
            self.violations += self.page.evaluate("window.__violations || []")
        except Exception:  # the page is between documents
            pass

    def goto(self, path: str):
        self._collect_violations()
        self.page.goto(self.base + path)

    def shot(self, name: str, ours: bool = True):
        """Checks the accessibility of our pages, and takes a picture when asked."""
        if ours:
            results = AXE.run(self.page, options=WCAG_AA)
            problems = [
                f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
                for v in results.response["violations"]
            ]
            assert not problems, f"{name}: accessibility violations: {problems}"
        if self.shots:
            self.page.wait_for_timeout(150)
            # Secrets on show are masked: the pictures are published.
            self.page.screenshot(
                path=str(self.shots / f"{name}.png"),
                full_page=True,
                mask=[self.page.locator("input[data-secret]")],
            )

    def check_clean(self):
        self._collect_violations()
        assert not self.foreign, f"requests to other origins: {self.foreign}"
        assert not self.violations, f"content security policy violations: {self.violations}"
        assert not self.errors, f"script errors: {self.errors}"

    def account(self) -> str:
        """The id of the first account of the signed-in user, read through the API."""
        return gql(self.base, self.token, "{ me { ... on User { accounts { id } } } }")["me"]["accounts"][0]["id"]

    def make(self, mutation: str, inputs: list[dict]):
        """Runs `mutation($i: ...)` once for each input, through the API."""
        for i in inputs:
            gql(self.base, self.token, mutation, {"i": i})

    # Shorthands for what the pages are made of.
    def dialog(self):
        return self.page.get_by_role("dialog")

    def nav(self, name: str):
        self.page.get_by_role("navigation", name="Pages").get_by_role("link", name=name).click()
        expect(self.page.get_by_role("heading", level=1, name=name)).to_be_visible()

    def secret(self) -> str:
        field = self.dialog().locator("input[data-secret]")
        expect(field).to_be_visible()
        value = field.input_value()
        expect(self.dialog().get_by_text("cannot be shown again")).to_be_visible()
        return value

    def copied(self):
        self.dialog().get_by_role("button", name="I have copied it").click()
        expect(self.page.locator("dialog[open]")).to_have_count(0)


def http(base: str, path: str, key: str | None = None, body=None):
    """(status, headers, body) of one request, without the browser."""
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET")
    if key:
        request.add_header("x-api-key", key)
    data = None
    if body is not None:
        request.add_header("content-type", "application/json")
        data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def gql(base: str, token: str, query: str, variables=None):
    status, _, text = http(base, "/graphql", token, {"query": query, "variables": variables or {}})
    body = json.loads(text)
    assert status == 200 and "errors" not in body, f"{status}: {text}"
    return body["data"]


def verify(base: str, key: str, query: str = "") -> int:
    return http(base, "/v1/verify" + query, key)[0]


def sign_in(b: Browser, token: str):
    b.goto("/")
    expect(b.page).to_have_url(b.base + "/console")
    b.shot("sign-in")
    # By keyboard alone: the field is the first stop, Enter sends.
    b.page.keyboard.press("Tab")
    b.page.keyboard.type(token)
    b.page.keyboard.press("Enter")
    expect(b.page.get_by_test_id("who")).to_be_visible()
    stored = b.page.evaluate("sessionStorage.getItem('keywarden.token')")
    assert stored == token, "the token is kept in the tab's session storage"
    assert b.page.context.cookies() == [], "no cookie holds anything"
    assert token not in b.page.url


def service_account_and_keys(b: Browser) -> dict:
    page = b.page
    b.nav("Service accounts")
    expect(page.get_by_text("No service accounts yet")).to_be_visible()
    page.get_by_role("button", name="New service account").click()
    dialog = b.dialog()
    dialog.get_by_label("Name").fill("ci-runner")
    dialog.get_by_label("Description").fill("Runs the deploy jobs")
    dialog.get_by_label("Role").select_option("Editor")
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1, name="ci-runner")).to_be_visible()
    expect(page.get_by_text("No keys.")).to_be_visible()
    page.get_by_role("button", name="Edit").click()
    expect(b.dialog().get_by_label("Role")).to_have_value("Editor")
    b.dialog().get_by_label("Description").fill("Runs the deploy jobs of web")
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.locator(".facts")).to_contain_text("Runs the deploy jobs of web")

    # A key, its secret shown once.
    page.get_by_role("button", name="New key").click()
    b.dialog().get_by_label("Name").fill("deploy")
    b.dialog().get_by_label("Expires in days").fill("30")
    expect(b.dialog().get_by_label("Role ceiling")).to_have_value("")
    b.dialog().get_by_role("button", name="Create key").click()
    first = b.secret()
    assert first.startswith("lmr_sa_"), first
    b.shot("key-secret")
    b.copied()
    assert first not in page.content(), "the secret stays on the page after the dialog"
    page.reload()
    expect(page.get_by_role("heading", level=1, name="ci-runner")).to_be_visible()
    expect(page.locator("tr[data-key=deploy]")).to_have_count(1)
    assert first not in page.content(), "the secret is shown again"
    prefix = page.locator("tr[data-key=deploy] code.prefix").inner_text()
    assert prefix.endswith("…") and first.startswith(prefix[:-1]) and len(prefix) < 20, prefix
    assert verify(b.base, first) == 200, "the new key passes /v1/verify"

    # Rotation with an overlap: both work, the new one shown once.
    page.locator("tr[data-key=deploy]").get_by_role("button", name="Rotate").click()
    expect(b.dialog().get_by_label("Overlap, in minutes")).to_have_value("60")
    b.dialog().get_by_role("button", name="Rotate").click()
    second = b.secret()
    assert second != first
    b.copied()
    expect(page.locator("tr[data-key=deploy]")).to_have_count(2)
    assert verify(b.base, first) == 200, "the old key works through the overlap"
    assert verify(b.base, second) == 200

    # Revoking the new key: refused from then on.
    page.locator("tr[data-key=deploy]").first.get_by_role("button", name="Revoke").click()
    expect(b.dialog().get_by_text("stops working at once")).to_be_visible()
    b.dialog().get_by_role("button", name="Revoke").click()
    expect(page.locator("tr[data-key=deploy]").first.get_by_text("Revoked")).to_be_visible()
    assert verify(b.base, second) == 401, "a revoked key is refused"


    # Disable, then enable: the keys stop at once, then work again.
    header = page.locator(".page-header")
    header.get_by_role("button", name="Disable").click()
    expect(b.dialog().get_by_text("stops working at once")).to_be_visible()
    b.dialog().get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Disabled: its keys are refused")).to_be_visible()
    assert verify(b.base, first) == 401, "a disabled service account's key is refused"
    header.get_by_role("button", name="Enable").click()
    b.dialog().get_by_role("button", name="Enable").click()
    expect(page.locator(".facts").get_by_text("Enabled")).to_be_visible()
    assert verify(b.base, first) == 200, "enabled again, its key works"
    b.shot("service-account")

    # The list: status, role, key count, last use (the server writes uses
    # down every second in this test: wait until it has), search.
    sa_id = page.url.rsplit("/", 1)[1]
    for _ in range(100):
        usage = gql(
            b.base,
            b.token,
            "query($id: ObjectID!) { serviceAccount(id: $id) { keyUsage { lastUsedAt } } }",
            {"id": sa_id},
        )["serviceAccount"]["keyUsage"]
        if usage["lastUsedAt"]:
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("the key's use was never written down")
    b.nav("Service accounts")
    row = page.get_by_role("row").filter(has_text="ci-runner")
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text("Editor")
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")
    expect(row.get_by_role("cell").nth(4)).not_to_have_text("Never")
    page.get_by_role("button", name="New service account").click()
    b.dialog().get_by_label("Name").fill("nightly-report")
    expect(b.dialog().get_by_label("Role")).to_have_value("Viewer")
    b.dialog().get_by_label("Addresses its keys work from (optional)").fill("10.20.0.0/16")
    b.dialog().get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1, name="nightly-report")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Viewer")
    expect(page.locator(".facts")).to_contain_text("10.20.0.0/16")
    b.nav("Service accounts")
    page.get_by_label("Search by name").fill("RUNNER")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="ci-runner")).to_be_visible()
    expect(page.get_by_role("link", name="nightly-report")).to_have_count(0)
    page.get_by_label("Search by name").fill("")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="nightly-report")).to_be_visible()
    b.shot("service-accounts")

    # Pages of 20: 22 service accounts make two.
    account = b.account()
    b.make(
        "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { serviceAccount { id } } }",
        [{"accountId": account, "name": f"batch-{n:02}", "roleCode": "Viewer"} for n in range(20)],
    )
    page.reload()
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(20)
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name="batch-19")).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(20)
    expect(page.get_by_role("link", name="ci-runner")).to_be_visible()

    # Delete with a typed confirmation.
    page.get_by_role("link", name="nightly-report").click()
    page.get_by_role("button", name="Delete").click()
    confirm = b.dialog().get_by_role("button", name="Delete for good")
    expect(confirm).to_be_disabled()
    b.dialog().get_by_label("Type nightly-report to confirm").fill("nightly-report")
    confirm.click()
    expect(page.get_by_role("heading", level=1, name="Service accounts")).to_be_visible()
    expect(page.get_by_role("link", name="nightly-report")).to_have_count(0)
    return {"key": first}


def members(b: Browser) -> str:
    page = b.page
    b.nav("Members")
    admin_row = page.locator("tr[data-member=admin]")
    expect(admin_row.get_by_role("combobox")).to_be_disabled()
    expect(admin_row.get_by_text("only Admin")).to_be_visible()

    # The server's refusal, in its words and with its code.
    page.get_by_role("button", name="Add member").click()
    b.dialog().get_by_label("Username").fill("not a username!")
    b.dialog().get_by_role("button", name="Add").click()
    expect(b.dialog().get_by_role("alert")).to_contain_text("BAD_USER_INPUT")
    b.dialog().get_by_label("Username").fill("vic")
    b.dialog().get_by_label("Role").select_option("Viewer")
    b.dialog().get_by_role("button", name="Add").click()
    token = b.secret()
    assert token.startswith("lmr_pat_"), token
    b.copied()
    expect(page.locator("tr[data-member=vic]")).to_be_visible()

    # A second Admin, then the first may change; back to one, locked again.
    page.locator("tr[data-member=vic]").get_by_role("combobox").select_option("Admin")
    expect(admin_row.get_by_role("combobox")).to_be_enabled()
    page.locator("tr[data-member=vic]").get_by_role("combobox").select_option("Viewer")
    expect(admin_row.get_by_role("combobox")).to_be_disabled()
    expect(admin_row.get_by_role("button", name="Remove")).to_be_disabled()

    # The server's own refusal, when the page is out of date: vic is made
    # Admin here, demoted elsewhere, then this page demotes the last Admin.
    page.locator("tr[data-member=vic]").get_by_role("combobox").select_option("Admin")
    expect(admin_row.get_by_role("combobox")).to_be_enabled()
    account = b.account()
    members_now = gql(
        b.base,
        b.token,
        "query($a: ObjectID!) { getAccount(id: $a) { members { user { id username } } } }",
        {"a": account},
    )["getAccount"]["members"]
    vic_id = next(m["user"]["id"] for m in members_now if m["user"]["username"] == "vic")
    gql(
        b.base,
        b.token,
        "mutation($i: UpdateAccountMemberInput!) { updateAccountMember(input: $i) { accountMember { id } } }",
        {"i": {"accountId": account, "userId": vic_id, "roleCode": "Viewer"}},
    )
    admin_row.get_by_role("combobox").select_option("Editor")
    refusal = page.get_by_role("alert").filter(has_text="last Admin")
    expect(refusal).to_contain_text("cannot be demoted")
    expect(refusal).to_contain_text("BAD_USER_INPUT")
    expect(admin_row.get_by_role("combobox")).to_be_disabled()
    expect(admin_row.get_by_role("combobox")).to_have_value("Admin")

    # A member added, then removed: their token stops working here.
    page.get_by_role("button", name="Add member").click()
    b.dialog().get_by_label("Username").fill("temp")
    b.dialog().get_by_role("button", name="Add").click()
    temp = b.secret()
    b.copied()
    assert gql(b.base, temp, "{ me { ... on User { accounts { id } } } }")["me"]["accounts"]
    page.locator("tr[data-member=temp]").get_by_role("button", name="Remove").click()
    b.dialog().get_by_role("button", name="Remove").click()
    expect(page.locator("tr[data-member=temp]")).to_have_count(0)
    assert gql(b.base, temp, "{ me { ... on User { accounts { id } } } }")["me"]["accounts"] == []
    b.shot("members")
    return token


def tokens(b: Browser, admin_token: str):
    page = b.page
    b.nav("My tokens")
    expect(page.get_by_text("You may hold 5 active tokens")).to_be_visible()
    page.get_by_role("button", name="New token").click()
    b.dialog().get_by_label("Name").fill("laptop")
    b.dialog().get_by_role("button", name="Create token").click()
    laptop = b.secret()
    b.copied()
    assert gql(b.base, laptop, "{ me { id } }")["me"]["id"]

    page.locator("tr[data-token=laptop]").get_by_role("button", name="Rotate").click()
    b.dialog().get_by_role("button", name="Rotate").click()
    rotated = b.secret()
    b.copied()
    assert http(b.base, "/graphql", laptop, {"query": "{ me { id } }"})[0] == 401, "the old secret stops at once"
    assert gql(b.base, rotated, "{ me { id } }")["me"]["id"]

    page.locator("tr[data-token=laptop]").get_by_role("button", name="Revoke").click()
    b.dialog().get_by_role("button", name="Revoke").click()
    expect(page.locator("tr[data-token=laptop]").get_by_text("Revoked")).to_be_visible()
    assert http(b.base, "/graphql", rotated, {"query": "{ me { id } }"})[0] == 401
    # Still signed in with the token this tab holds.
    assert gql(b.base, admin_token, "{ me { id } }")["me"]["id"]
    for action in ["create", "rotate", "revoke"]:
        expect(page.locator(f"table.activity tr[data-action='personal_access_token.{action}']")).to_have_count(1)
    b.shot("tokens")

    # A token someone reports as leaked: refused, and its row says so; the
    # revocation is in its owner's activity.
    stray = gql(
        b.base,
        admin_token,
        "mutation { createPersonalAccessToken(input: { name: \"stray\" }) { secret } }",
    )["createPersonalAccessToken"]["secret"]
    status, _, _ = http(b.base, "/v1/leaks", body={"token": stray})
    assert status == 202, status
    assert http(b.base, "/graphql", stray, {"query": "{ me { id } }"})[0] == 401, "a leaked token is refused"
    page.reload()
    row = page.locator("tr[data-token=stray]")
    expect(row.get_by_text("Leaked")).to_be_visible()
    expect(row.get_by_text("Revoked")).to_be_visible()
    expect(row).to_contain_text("reported by someone holding it")
    expect(page.locator("table.activity tr[data-action='credential.leak']")).to_have_count(1)


def groups(b: Browser, key: str):
    page = b.page
    b.nav("Permission sets")
    page.get_by_role("button", name="New permission", exact=True).click()
    b.dialog().get_by_label("Permission (resource:action)").fill("Jobs:Run")
    b.dialog().get_by_role("button", name="Save").click()
    expect(b.dialog().get_by_role("alert")).to_contain_text("BAD_USER_INPUT")
    b.dialog().get_by_label("Permission (resource:action)").fill("jobs:run")
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="jobs:run")).to_be_visible()
    page.get_by_role("button", name="New permission set").click()
    b.dialog().get_by_label("Name").fill("runner")
    b.dialog().get_by_label("jobs:run").check()
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.get_by_role("row").filter(has_text="runner")).to_contain_text("jobs:run")
    b.shot("permission-sets")

    b.nav("Projects")
    for name in ["web", "api"]:
        page.get_by_role("button", name="New project").click()
        b.dialog().get_by_label("Name").fill(name)
        b.dialog().get_by_role("button", name="Save").click()
        expect(page.get_by_role("row").filter(has_text=name).first).to_be_visible()
    b.shot("projects")
    # Pages of 50: 51 projects make two.
    account = b.account()
    b.make(
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id } } }",
        [{"accountId": account, "name": f"more-{n:02}"} for n in range(49)],
    )
    page.reload()
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("more-48")
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(50)

    b.nav("Groups")
    page.get_by_role("button", name="New group").click()
    b.dialog().get_by_label("Name").fill("ci")
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1, name="ci")).to_be_visible()
    page.get_by_role("button", name="Add members").click()
    b.dialog().get_by_label("ci-runner").check()
    b.dialog().get_by_role("button", name="Add").click()
    expect(page.locator("ul.chips")).to_contain_text("ci-runner")
    assert verify(b.base, key, "?permission=jobs:run&project=web") == 403, "nothing granted yet"
    page.get_by_role("button", name="Grant a permission set").click()
    b.dialog().get_by_label("Permission set").select_option(label="runner")
    b.dialog().get_by_label("These projects").check()
    b.dialog().get_by_label("web").check()
    b.dialog().get_by_role("button", name="Grant").click()
    expect(page.get_by_role("row").filter(has_text="runner")).to_contain_text("web")
    b.shot("group")
    assert verify(b.base, key, "?permission=jobs:run&project=web") == 200, "the grant lets the key in"
    status, headers, _ = http(b.base, "/v1/verify?permission=jobs:run&project=api", key)
    assert status == 403 and headers.get("x-keywarden-reason") == "permission-not-held", (status, headers)

    # The service account's page says what it holds there, and why.
    page.get_by_role("link", name="ci-runner").click()
    page.get_by_label("Project").select_option(label="web")
    row = page.locator("tr[data-permission='jobs:run']")
    expect(row).to_contain_text("Group ci")
    expect(row).to_contain_text("set runner on web")
    page.get_by_label("Project").select_option(label="api")
    expect(page.locator("tr[data-permission='jobs:run']")).to_have_count(0)

    # Out of the group, the key loses the grant on the next request.
    page.get_by_role("link", name="ci", exact=True).first.click()
    expect(page.get_by_role("heading", level=1, name="ci")).to_be_visible()
    page.get_by_role("button", name="Remove ci-runner from the group").click()
    expect(page.get_by_text("No members.")).to_be_visible()
    assert verify(b.base, key, "?permission=jobs:run&project=web") == 403


def audit(b: Browser):
    page = b.page
    b.nav("Audit log")
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_have_attribute("data-action", "group_member.remove")
    b.shot("audit")
    # Pages of 25, newest first.
    expect(rows).to_have_count(25)
    newest = rows.first.get_attribute("data-action")
    newest_at = page.locator("table.audit tbody tr td time").first.get_attribute("datetime")
    page.get_by_role("button", name="Older").click()
    expect(page.get_by_role("button", name="Newer")).to_be_enabled()
    older_at = page.locator("table.audit tbody tr td time").first.get_attribute("datetime")
    assert older_at <= newest_at
    page.get_by_role("button", name="Newer").click()
    expect(rows.first).to_have_attribute("data-action", newest)
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()

    # Everything done above is there, found by its action.
    action = page.get_by_label("Action")
    for name in [
        "service_account.create",
        "service_account.update",
        "service_account.disable",
        "service_account.enable",
        "service_account.delete",
        "service_account_key.create",
        "service_account_key.rotate",
        "service_account_key.revoke",
        "account_member.add",
        "account_member.update",
        "account_member.remove",
        "permission.create",
        "permission_set.create",
        "project.create",
        "group.create",
        "group_member.add",
        "group_grant.create",
        "group_member.remove",
    ]:
        action.fill(name)
        page.get_by_role("button", name="Filter", exact=True).click()
        expect(rows.first).to_have_attribute("data-action", name)
        for i in range(rows.count()):
            assert rows.nth(i).get_attribute("data-action") == name

    # A family of actions, then one target within it.
    action.fill("service_account_key")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(3)
    for i in range(3):
        assert rows.nth(i).get_attribute("data-action").startswith("service_account_key.")
    action.fill("service_account")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.get_by_role("button", name="Only events about ci-runner").first.click()
    expect(page.get_by_text("Only events about one service account")).to_be_visible()
    # Its creation, its edit, and disabling and enabling it.
    expect(rows).to_have_count(4)
    for i in range(4):
        expect(rows.nth(i).get_by_role("cell").nth(3)).to_contain_text("ci-runner")
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(25)

    # By actor: chosen in the list, or by following an actor's name; the
    # first start's own event (by keywarden) is then left out.
    total = page.get_by_text("events, newest first")
    everything = int(total.inner_text().split()[0])
    page.get_by_label("Actor").select_option(label="admin")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(total).to_have_text(f"{everything - 1} events, newest first.")
    page.get_by_role("button", name="Clear filters").click()
    expect(total).to_have_text(f"{everything} events, newest first.")
    rows.first.get_by_role("button", name="admin").click()
    expect(total).to_have_text(f"{everything - 1} events, newest first.")
    expect(page.get_by_label("Actor").locator("option:checked")).to_have_text("admin")
    page.get_by_role("button", name="Clear filters").click()
    page.get_by_role("link", name="ci", exact=True).first.click()
    expect(page.get_by_role("heading", level=1, name="ci")).to_be_visible()


def service_account_by_api(b: Browser, account: str, name: str) -> str:
    """A Viewer service account made through the API; its id."""
    return gql(
        b.base,
        b.token,
        "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { serviceAccount { id } } }",
        {"i": {"accountId": account, "name": name, "roleCode": "Viewer"}},
    )["createServiceAccount"]["serviceAccount"]["id"]


def key_by_api(b: Browser, sa: str, name: str) -> dict:
    """A key of `sa` made through the API: its id and secret."""
    return gql(
        b.base,
        b.token,
        "mutation($i: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $i) { id secret } }",
        {"i": {"serviceAccountId": sa, "name": name}},
    )["createServiceAccountKey"]


def settings(b: Browser):
    """The account's rules for keys, and what a leak does: a key made before
    a rule is refused while it breaks it, and its page says why."""
    page = b.page
    account = b.account()
    sa = service_account_by_api(b, account, "policy-probe")
    forever = key_by_api(b, sa, "forever")["secret"]
    assert verify(b.base, forever) == 200
    b.nav("Settings")
    lifetime = page.get_by_label("Longest lifetime of a key, in days")
    expect(lifetime).to_have_value("")
    rules = page.locator("form", has=page.get_by_role("heading", name="What keys must be"))
    # Refused in the server's words, and nothing saved.
    lifetime.fill("0")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_role("alert")).to_contain_text("between 1 and 3650")
    expect(rules.get_by_role("alert")).to_contain_text("BAD_USER_INPUT")
    assert verify(b.base, forever) == 200
    lifetime.fill("30")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    b.shot("settings")
    assert verify(b.base, forever) == 401, "a key that never expires breaks a 30-day limit"
    b.goto(f"/console#/service-accounts/{sa}")
    row = page.locator("tr[data-key=forever]")
    expect(row.get_by_text("Refused by policy")).to_be_visible()
    expect(row).to_contain_text("at most 30 days")
    b.shot("key-refused-by-policy")
    # The limit removed: the key works on its next request.
    b.nav("Settings")
    expect(lifetime).to_have_value("30")
    lifetime.fill("")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    assert verify(b.base, forever) == 200, "the limit removed, the key works again"

    # Address ranges: refused in the server's words, then a range that does
    # not hold this machine's address refuses the key with 403; emptied, the
    # key works from anywhere again.
    ranges = page.get_by_label("Addresses keys work from")
    expect(ranges).to_have_value("")
    ranges.fill("0.0.0.0/0")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_role("alert")).to_contain_text("wider than /8")
    assert verify(b.base, forever) == 200
    ranges.fill("192.0.2.0/24\n2001:db8::/32")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    assert verify(b.base, forever) == 403, "a key used from outside its account's ranges"
    b.nav("Settings")
    expect(ranges).to_have_value("192.0.2.0/24\n2001:db8::/32")
    ranges.fill("")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    assert verify(b.base, forever) == 200, "the ranges removed, the key works again"

    # A service account's own addresses, on its page: shown, and the key
    # refused from elsewhere; cleared, it works again.
    b.goto(f"/console#/service-accounts/{sa}")
    page.get_by_role("button", name="Edit").click()
    b.dialog().get_by_label("Addresses its keys work from").fill("198.51.100.0/24")
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.locator(".facts")).to_contain_text("198.51.100.0/24")
    assert verify(b.base, forever) == 403, "a key used from outside its service account's ranges"
    page.get_by_role("button", name="Edit").click()
    expect(b.dialog().get_by_label("Addresses its keys work from")).to_have_value("198.51.100.0/24")
    b.dialog().get_by_label("Addresses its keys work from").fill("")
    b.dialog().get_by_role("button", name="Save").click()
    expect(page.locator(".facts")).to_contain_text("Wherever the account allows")
    assert verify(b.base, forever) == 200
    b.nav("Settings")

    leaks = page.locator("form", has=page.get_by_role("heading", name="When a credential is reported leaked"))
    leaks.get_by_label("What a report does").select_option(value="RECORD")
    # The settings read again after the save awaited: a choice made before
    # they arrive would be set back to what they say.
    with page.expect_response(lambda r: "AccountSettings" in (r.request.post_data or "")):
        leaks.get_by_role("button", name="Save").click()
    expect(leaks.get_by_text("Saved.")).to_be_visible()
    read = "query($a: ObjectID!) { getAccount(id: $a) { leakResponse } }"
    assert gql(b.base, b.token, read, {"a": account})["getAccount"]["leakResponse"] == "RECORD"
    leaks.get_by_label("What a report does").select_option(value="REVOKE")
    # The settings read again after the save awaited: a choice made before
    # they arrive would be set back to what they say.
    with page.expect_response(lambda r: "AccountSettings" in (r.request.post_data or "")):
        leaks.get_by_role("button", name="Save").click()
    expect(leaks.get_by_text("Saved.")).to_be_visible()
    assert gql(b.base, b.token, read, {"a": account})["getAccount"]["leakResponse"] == "REVOKE"


def hygiene(b: Browser):
    """Which keys are used: a key's last use with its address and client, the
    unused credentials page, a key disabled and enabled again, and the
    setting that disables keys unused for long."""
    page = b.page
    account = b.account()
    sa = service_account_by_api(b, account, "hygiene-probe")
    made = {name: key_by_api(b, sa, name) for name in ["dormant", "busy"]}
    assert verify(b.base, made["busy"]["secret"]) == 200
    read = "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { lastUsedAt } } }"
    for _ in range(100):
        if gql(b.base, b.token, read, {"id": made["busy"]["id"]})["node"]["lastUsedAt"]:
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("the key's use was never written down")

    # The unused page: the key never used is there, the one just used not.
    b.nav("Unused credentials")
    expect(page.get_by_role("status")).to_contain_text("unused for 90 days or more")
    dormant = page.locator("tr[data-credential=dormant]")
    expect(dormant).to_have_count(1)
    expect(dormant).to_contain_text("hygiene-probe")
    expect(dormant).to_contain_text("Never")
    expect(page.locator("tr[data-credential=busy]")).to_have_count(0)
    page.get_by_label("Not used for").select_option("30")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_contain_text("unused for 30 days or more")
    expect(dormant).to_have_count(1)
    b.shot("unused-credentials")

    # The key's page: where the busy key was used from, and by what.
    dormant.get_by_role("link", name="hygiene-probe").click()
    expect(page.get_by_role("heading", level=1, name="hygiene-probe")).to_be_visible()
    busy = page.locator("tr[data-key=busy]")
    expect(busy).to_contain_text("from 127.0.0.1")
    expect(busy).to_contain_text("Python-urllib")

    # Disabled by an Admin: refused at once; enabled again, it works.
    row = page.locator("tr[data-key=dormant]")
    row.get_by_role("button", name="Disable").click()
    expect(b.dialog().get_by_text("It is not revoked")).to_be_visible()
    b.dialog().get_by_role("button", name="Disable").click()
    expect(row.get_by_text("Disabled", exact=True)).to_be_visible()
    expect(row).to_contain_text("By an Admin")
    assert verify(b.base, made["dormant"]["secret"]) == 401, "a disabled key is refused"
    b.shot("key-disabled")
    row.get_by_role("button", name="Enable").click()
    b.dialog().get_by_role("button", name="Enable").click()
    expect(row.get_by_text("Active")).to_be_visible()
    assert verify(b.base, made["dormant"]["secret"]) == 200, "enabled again, the key works"

    # The setting: refused in the server's words, saved, shown, cleared.
    b.nav("Settings")
    rules = page.locator("form", has=page.get_by_role("heading", name="What keys must be"))
    idle = page.get_by_label("Disable a key unused for, in days")
    expect(idle).to_have_value("")
    idle.fill("3651")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_role("alert")).to_contain_text("disableUnusedAfterDays must be between 1 and 3650")
    idle.fill("soon")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_role("alert")).to_contain_text("whole number of days")
    idle.fill("90")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    policy = "query($a: ObjectID!) { getAccount(id: $a) { credentialPolicy { disableUnusedAfterDays } } }"
    assert gql(b.base, b.token, policy, {"a": account})["getAccount"]["credentialPolicy"]["disableUnusedAfterDays"] == 90
    page.reload()
    expect(page.get_by_label("Disable a key unused for, in days")).to_have_value("90")
    page.get_by_label("Disable a key unused for, in days").fill("")
    rules.get_by_role("button", name="Save the rules").click()
    expect(rules.get_by_text("Saved.")).to_be_visible()
    assert gql(b.base, b.token, policy, {"a": account})["getAccount"]["credentialPolicy"]["disableUnusedAfterDays"] is None


def viewer(b: Browser, token: str):
    sign_in(b, token)
    page = b.page
    expect(page.get_by_test_id("who")).to_contain_text("Viewer")
    nav = page.get_by_role("navigation", name="Pages")
    for hidden in ["Service accounts", "Members", "Groups", "Audit log"]:
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(nav.get_by_text("needs the Admin role")).to_be_visible()
    b.goto("/console#/service-accounts")
    expect(page.get_by_role("heading", level=1, name="My access")).to_be_visible()
    page.get_by_label("Project name or id").fill("web")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No permissions here.").or_(page.get_by_role("cell", name="account:read"))).to_be_visible()
    page.get_by_label("Project name or id").fill("no-such-project")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("ENTITY_NOT_FOUND")
    b.shot("viewer")
    b.nav("My tokens")
    expect(page.locator("tr[data-token]")).to_have_count(1)
    # Revoking the token this tab signed in with: signed out, and told why.
    page.locator("tr[data-token]").get_by_role("button", name="Revoke").click()
    b.dialog().get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("alert")).to_contain_text("no longer works")
    expect(page.get_by_label("Personal access token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def service_account_key(b: Browser, key: str):
    """A service account's key signs in too, and sees only what it may."""
    sign_in(b, key)
    page = b.page
    expect(page.get_by_test_id("who")).to_contain_text("ci-runner · service account, Editor")
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link")).to_have_count(1)
    expect(nav.get_by_role("link", name="My access")).to_be_visible()
    expect(page.locator("tr[data-permission='account:read']")).to_contain_text("The Editor role")
    b.shot("service-account-key")


def switcher(b: Browser, admin_token: str, other_token: str):
    other = gql(b.base, other_token, "{ me { ... on User { accounts { id name } } } }")["me"]["accounts"][0]
    invitation = gql(
        b.base,
        other_token,
        "mutation($input: CreateAccountInvitationInput!) { createAccountInvitation(input: $input) { secret } }",
        {"input": {"accountId": other["id"], "roleCode": "Viewer"}},
    )["createAccountInvitation"]["secret"]
    gql(
        b.base,
        admin_token,
        "mutation($s: String!) { acceptAccountInvitation(input: { secret: $s }) { accountMember { id } } }",
        {"s": invitation},
    )
    page = b.page
    page.reload()
    account = page.get_by_label("Account", exact=True)
    expect(account.locator("option")).to_have_count(2)
    account.select_option(label=other["name"])
    expect(page.get_by_test_id("who")).to_contain_text("Viewer")
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link", name="Service accounts")).to_have_count(0)
    account.select_option(index=0)
    expect(page.get_by_test_id("who")).to_contain_text("Admin")


def graphiql(b: Browser, admin_token: str):
    # In the signed-in tab, GraphiQL sends the tab's token.
    b.goto("/graphql")
    page = b.page
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible()
    page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ me { id } }')")
    page.locator(".graphiql-execute-button").click()
    me = gql(b.base, admin_token, "{ me { id } }")["me"]["id"]
    expect(page.locator(".result-window")).to_contain_text(me)
    b.shot("graphiql", ours=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--other-admin-token", required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        expect.set_options(timeout=10_000)
        admin = Browser(browser.new_context(viewport={"width": 1280, "height": 800}), base, shots, args.admin_token)
        sign_in(admin, args.admin_token)
        expect(admin.page.get_by_test_id("who")).to_contain_text("Admin")
        made = service_account_and_keys(admin)
        vic = members(admin)
        tokens(admin, args.admin_token)
        groups(admin, made["key"])
        audit(admin)
        settings(admin)
        hygiene(admin)
        switcher(admin, args.admin_token, args.other_admin_token)
        graphiql(admin, args.admin_token)
        admin.check_clean()

        # Another tab of another browser: its own session.
        restricted = Browser(browser.new_context(viewport={"width": 1280, "height": 800}), base, shots, "")
        viewer(restricted, vic)
        restricted.check_clean()
        robot = Browser(browser.new_context(viewport={"width": 1280, "height": 800}), base, None, "")
        service_account_key(robot, made["key"])
        robot.check_clean()

        # Signing out forgets the token.
        admin.goto("/console")
        admin.page.get_by_role("button", name="Sign out").click()
        expect(admin.page.get_by_label("Personal access token")).to_be_visible()
        assert admin.page.evaluate("sessionStorage.length") == 0
        admin.check_clean()
        browser.close()
    print("console: every flow passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"console: FAILED: {e}", file=sys.stderr)
        raise
