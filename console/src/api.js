// The console's one way to the server: the public GraphQL API, with the
// signed-in credential in the x-api-key header. The credential lives in this
// tab's session storage only: never in a cookie, never in a URL.

const TOKEN_KEY = 'keywarden.token';
// Sent when the server refuses the credential this tab signed in with.
export const SIGNED_OUT = 'keywarden:signed-out';
const ACCOUNT_KEY = 'keywarden.account';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  account: () => sessionStorage.getItem(ACCOUNT_KEY),
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  chooseAccount(id) {
    sessionStorage.setItem(ACCOUNT_KEY, id);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACCOUNT_KEY);
  },
};

// What the server refused, in its words, with its code.
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// Runs one GraphQL operation; returns its data, or throws the first error.
// A refusal of the tab's own credential signs the tab out, unless `probe`
// says the caller is only asking whether it still works.
export async function gql(query, variables = {}, token = session.token(), { probe = false } = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { 'x-api-key': token } : {}),
      },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
    });
  } catch {
    throw new ApiError('The server could not be reached. Check that it is running, then try again.', 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL response.`, 'HTTP_' + response.status, response.status);
  }
  const error = body.errors?.[0];
  // The tab's own credential refused: it was revoked or expired meanwhile.
  if (response.status === 401 && !probe && token && token === session.token()) {
    session.signOut();
    dispatchEvent(new CustomEvent(SIGNED_OUT));
  }
  if (error) {
    throw new ApiError(error.message, error.extensions?.code ?? 'ERROR', response.status);
  }
  return body.data;
}

// The documents the console sends, by page: operations of the public API,
// each named, which a script may send just the same.

// Whether the tab's credential still works.
export const WHO_AM_I = '{ me { id } }';

// Signing in

export const ME = `query Me {
  me {
    id
    name
    isServiceAccount
    ... on User { username accounts { id name viewerRoleCode } }
    ... on ServiceAccount { roleCode account { id name viewerRoleCode } }
  }
}`;

// Service accounts

export const SERVICE_ACCOUNTS = `query ServiceAccounts($account: ObjectID!, $first: Int!, $after: ObjectID, $search: String) {
  getAccount(id: $account) {
    serviceAccounts(first: $first, after: $after, search: $search) {
      id name description roleCode enabled createdAt keyUsage { activeKeys lastUsedAt }
    }
  }
}`;

export const CREATE_SERVICE_ACCOUNT = `mutation CreateServiceAccount($input: CreateServiceAccountInput!) {
  createServiceAccount(input: $input) { serviceAccount { id } }
}`;

// A service account and its keys

export const SERVICE_ACCOUNT = `query ServiceAccount($id: ObjectID!) {
  serviceAccount(id: $id) {
    id name description roleCode enabled createdAt updatedAt allowedRanges
    createdByUser { id name }
    groups { id name }
    keys(first: 100) {
      id name description prefix roleCeiling roleCode createdAt expiresAt lastUsedAt lastUsedFrom lastUsedUserAgent
      revokedAt rotatedFromId allowedRanges disabledAt disabledReason
      leak { reportedAt url source reporter }
      policyViolation { rule limit message }
    }
  }
}`;

export const UPDATE_SERVICE_ACCOUNT = `mutation UpdateServiceAccount($input: UpdateServiceAccountInput!) {
  updateServiceAccount(input: $input) { serviceAccount { id } }
}`;

export const DELETE_SERVICE_ACCOUNT = `mutation DeleteServiceAccount($input: DeleteServiceAccountInput!) {
  deleteServiceAccount(input: $input) { serviceAccount { id } }
}`;

export const CREATE_KEY = `mutation CreateServiceAccountKey($input: CreateServiceAccountKeyInput!) {
  createServiceAccountKey(input: $input) { id name secret }
}`;

export const REVOKE_KEY = `mutation RevokeServiceAccountKey($input: RevokeServiceAccountKeyInput!) {
  revokeServiceAccountKey(input: $input) { serviceAccountKey { id revokedAt } }
}`;

export const DISABLE_KEY = `mutation DisableServiceAccountKey($input: DisableServiceAccountKeyInput!) {
  disableServiceAccountKey(input: $input) { serviceAccountKey { id disabledAt } }
}`;

export const ENABLE_KEY = `mutation EnableServiceAccountKey($input: EnableServiceAccountKeyInput!) {
  enableServiceAccountKey(input: $input) { serviceAccountKey { id disabledAt } }
}`;

export const ROTATE_KEY = `mutation RotateServiceAccountKey($input: RotateServiceAccountKeyInput!) {
  rotateServiceAccountKey(input: $input) { id name secret }
}`;

// Members

export const MEMBERS = `query Members($account: ObjectID!, $first: Int!, $after: ObjectID) {
  getAccount(id: $account) {
    members(first: $first, after: $after) { id roleCode createdAt user { id username name email } groups { id name } }
  }
}`;

export const ADD_MEMBER = `mutation AddAccountMember($input: AddAccountMemberInput!) {
  addAccountMember(input: $input) { accountMember { id } initialToken }
}`;

export const UPDATE_MEMBER = `mutation UpdateAccountMember($input: UpdateAccountMemberInput!) {
  updateAccountMember(input: $input) { accountMember { id roleCode } }
}`;

export const REMOVE_MEMBER = `mutation RemoveAccountMember($input: RemoveAccountMemberInput!) {
  removeAccountMember(input: $input) { accountMember { id } }
}`;

// Groups

export const GROUPS = `query Groups($account: ObjectID!, $first: Int!, $after: ObjectID) {
  getAccount(id: $account) { groups(first: $first, after: $after) { id name description createdAt grants { id } } }
}`;

export const GROUP = `query Group($id: ObjectID!, $account: ObjectID!) {
  node(id: $id) {
    ... on Group {
      id name description createdAt
      members(first: 100) { id name isServiceAccount }
      grants { id allProjects createdAt permissionSet { id name permissions } projects { id name } }
    }
  }
  getAccount(id: $account) {
    permissionSets { id name builtIn }
    projects(first: 100) { id name }
    members(first: 100) { user { id name username } }
    serviceAccounts(first: 100) { id name }
  }
}`;

export const CREATE_GROUP = `mutation CreateGroup($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`;

export const UPDATE_GROUP = `mutation UpdateGroup($input: UpdateGroupInput!) { updateGroup(input: $input) { group { id } } }`;

export const DELETE_GROUP = `mutation DeleteGroup($input: DeleteGroupInput!) { deleteGroup(input: $input) { group { id } } }`;

export const ADD_GROUP_MEMBERS = `mutation AddGroupMembers($input: GroupMembersInput!) { addGroupMembers(input: $input) { group { id } } }`;

export const REMOVE_GROUP_MEMBERS = `mutation RemoveGroupMembers($input: GroupMembersInput!) { removeGroupMembers(input: $input) { group { id } } }`;

export const CREATE_GROUP_GRANT = `mutation CreateGroupGrant($input: CreateGroupGrantInput!) { createGroupGrant(input: $input) { groupGrant { id } } }`;

export const DELETE_GROUP_GRANT = `mutation DeleteGroupGrant($input: DeleteGroupGrantInput!) { deleteGroupGrant(input: $input) { groupGrant { id } } }`;

// Permission sets, permissions and projects

export const PERMISSION_SETS = `query Sets($account: ObjectID!) {
  getAccount(id: $account) {
    permissionSets { id name description builtIn roleCode permissions }
    permissions { id name description }
  }
}`;

export const CREATE_PERMISSION = `mutation CreatePermission($input: CreatePermissionInput!) { createPermission(input: $input) { permission { id } } }`;

export const DELETE_PERMISSION = `mutation DeletePermission($input: DeletePermissionInput!) { deletePermission(input: $input) { permission { id } } }`;

export const CREATE_PERMISSION_SET = `mutation CreatePermissionSet($input: CreatePermissionSetInput!) { createPermissionSet(input: $input) { permissionSet { id } } }`;

export const UPDATE_PERMISSION_SET = `mutation UpdatePermissionSet($input: UpdatePermissionSetInput!) { updatePermissionSet(input: $input) { permissionSet { id } } }`;

export const DELETE_PERMISSION_SET = `mutation DeletePermissionSet($input: DeletePermissionSetInput!) { deletePermissionSet(input: $input) { permissionSet { id } } }`;

export const PROJECTS = `query Projects($account: ObjectID!, $first: Int!, $after: ObjectID) {
  getAccount(id: $account) { projects(first: $first, after: $after) { id name description createdAt } }
}`;

export const CREATE_PROJECT = `mutation CreateProject($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }`;

export const UPDATE_PROJECT = `mutation UpdateProject($input: UpdateProjectInput!) { updateProject(input: $input) { project { id } } }`;

export const DELETE_PROJECT = `mutation DeleteProject($input: DeleteProjectInput!) { deleteProject(input: $input) { project { id } } }`;

// What a principal holds

export const PROJECT_NAMES = `query Projects($account: ObjectID!) {
  getAccount(id: $account) { projects(first: 100) { id name } }
}`;

export const HELD_PERMISSIONS = `query Held($input: HeldPermissionsInput!) {
  heldPermissions(input: $input) {
    roleCode every
    permissions {
      name
      sources { roleCode permissionSetName allProjects group { id name } projects { name } }
    }
  }
}`;

// My tokens

export const MY_TOKENS = `query MyTokens {
  me {
    ... on User {
      personalAccessTokens {
        id name createdAt expiresAt lastUsedAt lastUsedFrom lastUsedUserAgent revokedAt rotatedAt
        leak { reportedAt url source reporter }
      }
      auditEvents(last: 10) { nodes { id action targetName createdAt clientAddress } }
    }
  }
}`;

export const CREATE_TOKEN = `mutation CreatePersonalAccessToken($input: CreatePersonalAccessTokenInput!) {
  createPersonalAccessToken(input: $input) { id name secret }
}`;

export const ROTATE_TOKEN = `mutation RotatePersonalAccessToken($input: RotatePersonalAccessTokenInput!) {
  rotatePersonalAccessToken(input: $input) { id name secret }
}`;

export const REVOKE_TOKEN = `mutation RevokePersonalAccessToken($input: RevokePersonalAccessTokenInput!) {
  revokePersonalAccessToken(input: $input) { personalAccessToken { id } }
}`;

// The audit log

export const AUDIT_EVENTS = `query Audit($account: ObjectID!, $last: Int!, $before: String, $filter: AuditEventFilter) {
  getAccount(id: $account) {
    auditEvents(last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo { hasPreviousPage startCursor }
      nodes {
        id action actorType actorName actor { id } targetType targetId targetName createdAt clientAddress before after
      }
    }
  }
}`;

export const ACTORS = `query Actors($account: ObjectID!) {
  getAccount(id: $account) {
    members(first: 100) { user { id name } }
    serviceAccounts(first: 100) { id name }
  }
}`;

// The account's settings: its credential policy and what a leak does

export const ACCOUNT_SETTINGS = `query AccountSettings($account: ObjectID!) {
  getAccount(id: $account) {
    id name leakResponse
    credentialPolicy { keyMaxLifetimeDays keyExpiryRequired allowedRanges disableUnusedAfterDays }
  }
}`;

export const UPDATE_CREDENTIAL_POLICY = `mutation UpdateAccountCredentialPolicy($input: UpdateAccountCredentialPolicyInput!) {
  updateAccountCredentialPolicy(input: $input) {
    credentialPolicy { keyMaxLifetimeDays keyExpiryRequired allowedRanges disableUnusedAfterDays }
  }
}`;

export const UPDATE_LEAK_RESPONSE = `mutation UpdateAccountLeakResponse($input: UpdateAccountLeakResponseInput!) {
  updateAccountLeakResponse(input: $input) { leakResponse }
}`;

// Which credentials nobody uses

export const UNUSED_CREDENTIALS = `query UnusedCredentials($account: ObjectID!, $days: Int!, $after: String) {
  unusedCredentials(accountId: $account, days: $days, first: 50, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind name createdAt lastUsedAt expiresAt idleSince
      serviceAccountKey { id prefix disabledAt disabledReason serviceAccount { id name } }
      user { id username name }
    }
  }
}`;
