// What a principal may do, project by project, and what gives it: for the
// caller ("My access") and, for Admins, on a service account's page.
import { useState } from 'preact/hooks';
import {
  HELD_PERMISSIONS,
  PROJECT_NAMES,
  gql,
} from '../api.js';
import { Empty, Failure, Loading, PageHeader, useLoad } from '../ui.jsx';

export function MyAccess({ account, caller }) {
  const admin = !caller.isServiceAccount && account.viewerRoleCode === 'Admin';
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="My access" />
      <p>
        You act in <strong>{account.name}</strong> as {caller.isServiceAccount ? 'a service account' : 'a member'} with the{' '}
        <strong>{account.viewerRoleCode}</strong> role.
      </p>
      <EffectivePermissions account={account} canListProjects={admin} />
    </section>
  );
}

// `principalId` absent: the caller. Non-Admins cannot list projects, so they
// name the project they ask about.
export function EffectivePermissions({ account, principalId, canListProjects = true }) {
  const projects = useLoad(
    () =>
      canListProjects
        ? gql(PROJECT_NAMES, { account: account.id }).then((d) => d.getAccount.projects ?? [])
        : Promise.resolve(null),
    [account.id, canListProjects],
  );
  const [project, setProject] = useState('');
  const held = useLoad(
    () =>
      gql(HELD_PERMISSIONS, { input: { accountId: account.id, project: project || null, principalId: principalId ?? null } }).then(
        (d) => d.heldPermissions,
      ),
    [account.id, principalId, project],
  );
  return (
    <div class="effective">
      {projects.data ? (
        <label>
          Project
          <select value={project} onChange={(e) => setProject(e.currentTarget.value)}>
            <option value="">The account as a whole</option>
            {projects.data.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        !projects.loading && (
          <form
            class="search"
            onSubmit={(e) => {
              e.preventDefault();
              setProject(new FormData(e.currentTarget).get('project').trim());
            }}
          >
            <label>
              Project name or id <span class="muted">(empty: the account as a whole)</span>
              <input name="project" defaultValue={project} />
            </label>
            <button type="submit" class="secondary">
              Show
            </button>
          </form>
        )
      )}
      <Failure error={projects.error} />
      {held.loading && !held.data ? (
        <Loading />
      ) : held.error ? (
        <Failure error={held.error} onRetry={held.reload} />
      ) : held.data.every ? (
        <p>
          The <strong>Admin</strong> role holds every permission, on every project.
        </p>
      ) : held.data.permissions.length === 0 ? (
        <Empty>No permissions here.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Permission</th>
              <th scope="col">Given by</th>
            </tr>
          </thead>
          <tbody>
            {held.data.permissions.map((p) => (
              <tr key={p.name} data-permission={p.name}>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>
                  <ul class="plain">
                    {p.sources.map((s, i) => (
                      <li key={i}>
                        {s.roleCode ? (
                          <>The {s.roleCode} role</>
                        ) : (
                          <>
                            Group <a href={`#/groups/${s.group.id}`}>{s.group.name}</a>: set {s.permissionSetName} on{' '}
                            {s.allProjects ? 'all projects' : s.projects.map((x) => x.name).join(', ')}
                          </>
                        )}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
