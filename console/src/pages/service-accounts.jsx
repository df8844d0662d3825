// Service accounts: search, pages of 20, and creating one.
import { useState } from 'preact/hooks';
import {
  CREATE_SERVICE_ACCOUNT,
  SERVICE_ACCOUNTS,
  gql,
} from '../api.js';
import {
  Badge, Choice, FormDialog, Loaded, NameFields, PageHeader, Pager, RangesField, ROLES, When, formValues, rangesOf, usePages,
} from '../ui.jsx';

const PAGE = 20;

export function ServiceAccounts({ account }) {
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const list = usePages(
    (first, after) =>
      gql(SERVICE_ACCOUNTS, { account: account.id, first, after, search: search || null }).then(
        (d) => d.getAccount.serviceAccounts ?? [],
      ),
    PAGE,
    `${account.id}/${search}`,
  );
  const searchFor = (e) => {
    e.preventDefault();
    setSearch(new FormData(e.currentTarget).get('search').trim());
  };
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Service accounts">
        <button type="button" onClick={() => setCreating(true)}>
          New service account
        </button>
      </PageHeader>
      <form class="search" role="search" onSubmit={searchFor}>
        <label>
          Search by name
          <input name="search" type="search" defaultValue={search} />
        </label>
        <button type="submit" class="secondary">
          Search
        </button>
      </form>
      <Loaded
        state={list}
        empty={
          search
            ? `No service account's name contains “${search}”.`
            : 'No service accounts yet. Create one for each automation that calls your services.'
        }
      >
        {(rows) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Role</th>
                <th scope="col">Active keys</th>
                <th scope="col">Last used</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((sa) => (
                <tr key={sa.id}>
                  <td>
                    <a href={`#/service-accounts/${sa.id}`}>{sa.name}</a>
                    {sa.description && <div class="muted small">{sa.description}</div>}
                  </td>
                  <td>{sa.enabled ? <Badge tone="good">Enabled</Badge> : <Badge tone="bad">Disabled</Badge>}</td>
                  <td>{sa.roleCode}</td>
                  <td>{sa.keyUsage?.activeKeys}</td>
                  <td>
                    <When at={sa.keyUsage?.lastUsedAt} />
                  </td>
                  <td>
                    <When at={sa.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <Pager pages={list} label="Pages of service accounts" />
      {creating && <CreateServiceAccount account={account} onClose={() => setCreating(false)} />}
    </section>
  );
}

function CreateServiceAccount({ account, onClose }) {
  const create = async (form) => {
    const v = formValues(form);
    const done = await gql(CREATE_SERVICE_ACCOUNT, {
      input: {
        accountId: account.id,
        name: v.name,
        description: v.description || null,
        roleCode: v.role,
        allowedRanges: rangesOf(v.allowedRanges),
      },
    });
    location.hash = `#/service-accounts/${done.createServiceAccount.serviceAccount.id}`;
  };
  return (
    <FormDialog title="New service account" action="Create" onClose={onClose} onSubmit={create}>
      <NameFields />
      <RoleSelect name="role" value="Viewer" />
      <RangesField label="Addresses its keys work from (optional)" hint="Within the account's addresses." />
    </FormDialog>
  );
}

// A choice of role; with `allowNone`, also none (a key's ceiling).
export function RoleSelect({ name, value, label = 'Role', allowNone }) {
  const none = allowNone ? [['', "None: the service account's role"]] : [];
  return <Choice label={label} name={name} value={value ?? ''} choices={[...none, ...ROLES.map((r) => [r, r])]} />;
}
