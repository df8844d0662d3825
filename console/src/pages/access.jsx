// Permission sets (with the account's own permissions) and projects.
import { useState } from 'preact/hooks';
import {
  CREATE_PERMISSION,
  CREATE_PERMISSION_SET,
  CREATE_PROJECT,
  DELETE_PERMISSION,
  DELETE_PERMISSION_SET,
  DELETE_PROJECT,
  PERMISSION_SETS,
  PROJECTS,
  UPDATE_PERMISSION_SET,
  UPDATE_PROJECT,
  gql,
} from '../api.js';
import { ActionsHeader, Badge, Confirm, Empty, Failure, FormDialog, Loaded, Loading, NameFields, PageHeader, Pager, When, formValues, useLoad, usePages } from '../ui.jsx';

export function PermissionSets({ account }) {
  const data = useLoad(() => gql(PERMISSION_SETS, { account: account.id }).then((d) => d.getAccount), [account.id]);
  const [dialog, setDialog] = useState(null);
  const close = () => {
    setDialog(null);
    data.reload();
  };
  if (data.loading && !data.data) return <Loading />;
  if (data.error) return <Failure error={data.error} onRetry={data.reload} />;
  const { permissionSets: sets = [], permissions = [] } = data.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Permission sets">
        <button type="button" onClick={() => setDialog({ kind: 'set' })}>
          New permission set
        </button>
      </PageHeader>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Permissions</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {sets.map((s) => (
            <tr key={s.id}>
              <td>
                {s.name} {s.builtIn && <Badge>Built in</Badge>}
                {s.description && <div class="muted small">{s.description}</div>}
              </td>
              <td>
                {s.roleCode === 'Admin' ? (
                  <span class="muted">Every permission</span>
                ) : (
                  s.permissions.map((p) => (
                    <code key={p} class="perm">
                      {p}
                    </code>
                  ))
                )}
              </td>
              <td class="row-actions">
                {!s.builtIn && (
                  <>
                    <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'set', set: s })}>
                      Edit
                    </button>
                    <button type="button" class="danger small" onClick={() => setDialog({ kind: 'delete-set', set: s })}>
                      Delete
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <div class="section-header">
        <h2>The account's permissions</h2>
        <button type="button" onClick={() => setDialog({ kind: 'permission' })}>
          New permission
        </button>
      </div>
      <p class="muted">
        Permissions are <code>resource:action</code>, as in <code>jobs:run</code>: each part 1 to 64 lower-case letters,
        digits, <code>_</code> and <code>-</code>, starting with a letter. Your services ask for them at{' '}
        <code>/v1/verify?permission=…&amp;project=…</code>.
      </p>
      {permissions.length === 0 ? (
        <Empty>No permissions of the account's own yet.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Permission</th>
              <th scope="col">Description</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {permissions.map((p) => (
              <tr key={p.id}>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>{p.description ?? <span class="muted">None</span>}</td>
                <td class="row-actions">
                  <button type="button" class="danger small" onClick={() => setDialog({ kind: 'delete-permission', permission: p })}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {dialog?.kind === 'set' && <SetForm account={account} set={dialog.set} permissions={permissions} onClose={close} />}
      {dialog?.kind === 'permission' && (
        <SimpleForm
          title="New permission"
          nameLabel="Permission (resource:action)"
          onClose={close}
          save={(v) => gql(CREATE_PERMISSION, { input: { accountId: account.id, name: v.name, description: v.description || null } })}
        />
      )}
      {dialog?.kind === 'delete-set' && (
        <Confirm
          title={`Delete ${dialog.set.name}?`}
          action="Delete"
          danger
          onClose={close}
          onDone={() => gql(DELETE_PERMISSION_SET, { input: { permissionSetId: dialog.set.id } })}
        >
          <p>A set that a group's grant uses cannot be deleted: remove those grants first.</p>
        </Confirm>
      )}
      {dialog?.kind === 'delete-permission' && (
        <Confirm
          title={`Delete ${dialog.permission.name}?`}
          action="Delete"
          danger
          onClose={close}
          onDone={() => gql(DELETE_PERMISSION, { input: { permissionId: dialog.permission.id } })}
        >
          <p>A permission that a set holds cannot be deleted: take it out of those sets first.</p>
        </Confirm>
      )}
    </section>
  );
}

function SetForm({ account, set, permissions, onClose }) {
  const held = new Set(set?.permissions ?? []);
  const save = (form) => {
    const v = formValues(form);
    const chosen = [...form.querySelectorAll('input[name=permission]:checked')].map((c) => c.value);
    return set
      ? gql(UPDATE_PERMISSION_SET, { input: { permissionSetId: set.id, name: v.name, description: v.description, permissions: chosen } })
      : gql(CREATE_PERMISSION_SET, { input: { accountId: account.id, name: v.name, description: v.description || null, permissions: chosen } });
  };
  return (
    <FormDialog title={set ? `Edit ${set.name}` : 'New permission set'} action="Save" onClose={onClose} onSubmit={save}>
      <NameFields item={set} />
      <fieldset>
        <legend>Permissions</legend>
        {permissions.length ? (
          permissions.map((p) => (
            <label class="check" key={p.id}>
              <input type="checkbox" name="permission" value={p.name} defaultChecked={held.has(p.name)} /> <code>{p.name}</code>
            </label>
          ))
        ) : (
          <p class="muted">The account has no permissions of its own yet: make some first.</p>
        )}
      </fieldset>
    </FormDialog>
  );
}

// A name and a description, for a permission or a project.
function SimpleForm({ title, nameLabel, item, save, onClose, hint }) {
  return (
    <FormDialog title={title} action="Save" onClose={onClose} onSubmit={(form) => save(formValues(form))}>
      <NameFields item={item} nameLabel={nameLabel} hint={hint} />
    </FormDialog>
  );
}

export function Projects({ account }) {
  const list = usePages(
    (first, after) => gql(PROJECTS, { account: account.id, first, after }).then((d) => d.getAccount.projects ?? []),
    50,
    account.id,
  );
  const [dialog, setDialog] = useState(null);
  const close = () => {
    setDialog(null);
    list.reload();
  };
  const hint = 'Up to 100 letters, digits and . _ -, unique in the account. Services name a project by its name or its id.';
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Projects">
        <button type="button" onClick={() => setDialog({ kind: 'create' })}>
          New project
        </button>
      </PageHeader>
      <Loaded
        state={list}
        empty="No projects yet. A project is a scope your services check permissions in, such as a repository or an environment."
      >
        {(projects) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {projects.map((p) => (
                <tr key={p.id}>
                  <td>
                    {p.name}
                    {p.description && <div class="muted small">{p.description}</div>}
                  </td>
                  <td>
                    <code class="small">{p.id}</code>
                  </td>
                  <td>
                    <When at={p.createdAt} />
                  </td>
                  <td class="row-actions">
                    <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'edit', project: p })}>
                      Edit
                    </button>
                    <button type="button" class="danger small" onClick={() => setDialog({ kind: 'delete', project: p })}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <Pager pages={list} label="Pages of projects" />
      {dialog?.kind === 'create' && (
        <SimpleForm
          title="New project"
          hint={hint}
          onClose={close}
          save={(v) => gql(CREATE_PROJECT, { input: { accountId: account.id, name: v.name, description: v.description || null } })}
        />
      )}
      {dialog?.kind === 'edit' && (
        <SimpleForm
          title={`Edit ${dialog.project.name}`}
          hint={hint}
          item={dialog.project}
          onClose={close}
          save={(v) => gql(UPDATE_PROJECT, { input: { projectId: dialog.project.id, name: v.name, description: v.description } })}
        />
      )}
      {dialog?.kind === 'delete' && (
        <Confirm
          title={`Delete ${dialog.project.name}?`}
          action="Delete"
          danger
          onClose={close}
          onDone={() => gql(DELETE_PROJECT, { input: { projectId: dialog.project.id } })}
        >
          <p>A project that a grant lists cannot be deleted: change those grants first.</p>
        </Confirm>
      )}
    </section>
  );
}
