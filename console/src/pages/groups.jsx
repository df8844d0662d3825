// Groups: their members (users and service accounts) and their grants.
import { useState } from 'preact/hooks';
import {
  ADD_GROUP_MEMBERS,
  CREATE_GROUP,
  CREATE_GROUP_GRANT,
  DELETE_GROUP,
  DELETE_GROUP_GRANT,
  GROUP,
  GROUPS,
  REMOVE_GROUP_MEMBERS,
  UPDATE_GROUP,
  gql,
} from '../api.js';
import { ActionsHeader, Confirm, Dialog, Empty, Failure, FormDialog, Loaded, Loading, NameFields, PageHeader, Pager, When, formValues, useAction, useLoad, usePages } from '../ui.jsx';

export function Groups({ account }) {
  const list = usePages(
    (first, after) => gql(GROUPS, { account: account.id, first, after }).then((d) => d.getAccount.groups ?? []),
    50,
    account.id,
  );
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Groups">
        <button type="button" onClick={() => setCreating(true)}>
          New group
        </button>
      </PageHeader>
      <p class="muted">
        A group holds users and service accounts, and grants them permission sets on all projects or on listed
        ones. A principal holds the union of its role and of its groups' grants.
      </p>
      <Loaded state={list} empty="No groups yet.">
        {(groups) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Grants</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.id}>
                  <td>
                    <a href={`#/groups/${g.id}`}>{g.name}</a>
                    {g.description && <div class="muted small">{g.description}</div>}
                  </td>
                  <td>{g.grants?.length ?? 0}</td>
                  <td>
                    <When at={g.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <Pager pages={list} label="Pages of groups" />
      {creating && (
        <GroupForm
          title="New group"
          onClose={() => setCreating(false)}
          save={(v) =>
            gql(CREATE_GROUP, { input: { accountId: account.id, name: v.name, description: v.description || null } }).then(
              (d) => (location.hash = `#/groups/${d.createGroup.group.id}`),
            )
          }
        />
      )}
    </section>
  );
}

function GroupForm({ title, group, save, onClose }) {
  return (
    <FormDialog title={title} action="Save" onClose={onClose} onSubmit={(form) => save(formValues(form))}>
      <NameFields item={group} />
    </FormDialog>
  );
}

export function GroupPage({ id, account }) {
  const data = useLoad(() => gql(GROUP, { id, account: account.id }), [id, account.id]);
  const [dialog, setDialog] = useState(null);
  const { error, run } = useAction();
  const close = () => {
    setDialog(null);
    data.reload();
  };
  if (data.loading && !data.data) return <Loading />;
  if (data.error) return <Failure error={data.error} onRetry={data.reload} />;
  const g = data.data.node;
  if (!g) {
    return (
      <section>
        <p>
          <a href="#/groups">← Groups</a>
        </p>
        <Empty>This group does not exist, or not in this account.</Empty>
      </section>
    );
  }
  const removeMember = async (m) => {
    await run(() => gql(REMOVE_GROUP_MEMBERS, { input: { groupId: g.id, memberIds: [m.id] } }));
    data.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <p>
        <a href="#/groups">← Groups</a>
      </p>
      <PageHeader title={g.name}>
        <button type="button" class="secondary" onClick={() => setDialog('edit')}>
          Edit
        </button>
        <button type="button" class="danger" onClick={() => setDialog('delete')}>
          Delete
        </button>
      </PageHeader>
      {g.description && <p>{g.description}</p>}
      <Failure error={error} />

      <div class="section-header">
        <h2>Members</h2>
        <button type="button" onClick={() => setDialog('add')}>
          Add members
        </button>
      </div>
      {g.members?.length ? (
        <ul class="chips">
          {g.members.map((m) => (
            <li key={m.id}>
              {m.isServiceAccount ? <a href={`#/service-accounts/${m.id}`}>{m.name}</a> : m.name}
              <span class="muted small">{m.isServiceAccount ? ' service account' : ' user'}</span>
              <button type="button" class="icon" aria-label={`Remove ${m.name} from the group`} onClick={() => removeMember(m)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No members.</Empty>
      )}

      <div class="section-header">
        <h2>Grants</h2>
        <button type="button" onClick={() => setDialog('grant')}>
          Grant a permission set
        </button>
      </div>
      {g.grants?.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Permission set</th>
              <th scope="col">Permissions</th>
              <th scope="col">On</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {g.grants.map((gr) => (
              <tr key={gr.id}>
                <td>{gr.permissionSet.name}</td>
                <td>
                  {gr.permissionSet.permissions.map((p) => (
                    <code key={p} class="perm">
                      {p}
                    </code>
                  ))}
                </td>
                <td>{gr.allProjects ? 'All projects' : gr.projects.map((p) => p.name).join(', ')}</td>
                <td class="row-actions">
                  <button type="button" class="danger small" onClick={() => setDialog({ ungrant: gr })}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No grants: its members hold only what their roles give.</Empty>
      )}

      {dialog === 'edit' && (
        <GroupForm
          title={`Edit ${g.name}`}
          group={g}
          onClose={close}
          save={(v) => gql(UPDATE_GROUP, { input: { groupId: g.id, name: v.name, description: v.description } })}
        />
      )}
      {dialog === 'delete' && (
        <Confirm
          title={`Delete ${g.name}?`}
          action="Delete"
          danger
          confirmWord={g.name}
          onClose={() => setDialog(null)}
          onDone={() => gql(DELETE_GROUP, { input: { groupId: g.id } }).then(() => (location.hash = '#/groups'))}
        >
          <p>Its grants and memberships go with it: its members lose what it gave them on their next request.</p>
        </Confirm>
      )}
      {dialog === 'add' && <AddMembers group={g} account={data.data.getAccount} onClose={close} />}
      {dialog === 'grant' && <Grant group={g} account={data.data.getAccount} onClose={close} />}
      {dialog?.ungrant && (
        <Confirm
          title={`Remove the grant of ${dialog.ungrant.permissionSet.name}?`}
          action="Remove"
          danger
          onClose={close}
          onDone={() => gql(DELETE_GROUP_GRANT, { input: { groupGrantId: dialog.ungrant.id } })}
        >
          <p>The group's members lose what it gave them on their next request.</p>
        </Confirm>
      )}
    </section>
  );
}

function AddMembers({ group, account, onClose }) {
  const inGroup = new Set(group.members?.map((m) => m.id));
  const users = (account.members ?? []).map((m) => m.user).filter((u) => !inGroup.has(u.id));
  const robots = (account.serviceAccounts ?? []).filter((s) => !inGroup.has(s.id));
  const add = (form) => {
    const ids = [...form.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
    return gql(ADD_GROUP_MEMBERS, { input: { groupId: group.id, memberIds: ids } });
  };
  return (
    <FormDialog title={`Add members to ${group.name}`} action="Add" onClose={onClose} onSubmit={add}>
      <fieldset>
        <legend>Users</legend>
        {users.length ? (
          users.map((u) => (
            <label class="check" key={u.id}>
              <input type="checkbox" value={u.id} /> {u.name} <span class="muted">@{u.username}</span>
            </label>
          ))
        ) : (
          <p class="muted">Every member is in the group.</p>
        )}
      </fieldset>
      <fieldset>
        <legend>Service accounts</legend>
        {robots.length ? (
          robots.map((s) => (
            <label class="check" key={s.id}>
              <input type="checkbox" value={s.id} /> {s.name}
            </label>
          ))
        ) : (
          <p class="muted">No service account to add.</p>
        )}
      </fieldset>
    </FormDialog>
  );
}

function Grant({ group, account, onClose }) {
  const [all, setAll] = useState(true);
  const sets = (account.permissionSets ?? []).filter((s) => !s.builtIn);
  const grant = (form) => {
    const projectIds = [...form.querySelectorAll('input[name=project]:checked')].map((c) => c.value);
    const scope = all ? { allProjects: true } : { projectIds };
    return gql(CREATE_GROUP_GRANT, { input: { groupId: group.id, permissionSetId: new FormData(form).get('set'), ...scope } });
  };
  if (sets.length === 0) {
    return (
      <Dialog title="Grant a permission set" onClose={onClose}>
        <Empty>
          There is no custom permission set to grant yet. <a href="#/permission-sets">Make one</a> first: the built-in sets
          follow the roles and are not granted.
        </Empty>
      </Dialog>
    );
  }
  return (
    <FormDialog title={`Grant a permission set to ${group.name}`} action="Grant" onClose={onClose} onSubmit={grant}>
      <label>
        Permission set
        <select name="set" required>
          {sets.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>On</legend>
        <label class="check">
          <input type="radio" name="scope" checked={all} onChange={() => setAll(true)} /> All projects, now and to come
        </label>
        <label class="check">
          <input type="radio" name="scope" checked={!all} onChange={() => setAll(false)} /> These projects
        </label>
        {!all &&
          ((account.projects ?? []).length ? (
            account.projects.map((p) => (
              <label class="check indent" key={p.id}>
                <input type="checkbox" name="project" value={p.id} /> {p.name}
              </label>
            ))
          ) : (
            <p class="muted indent">No projects yet.</p>
          ))}
      </fieldset>
    </FormDialog>
  );
}
