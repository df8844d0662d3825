// The account's members: add one (their first token shown once), change a
// role, remove. The last Admin can be neither demoted nor removed.
import { useState } from 'preact/hooks';
import {
  ADD_MEMBER,
  MEMBERS,
  REMOVE_MEMBER,
  UPDATE_MEMBER,
  gql,
} from '../api.js';
import { ActionsHeader, Confirm, Failure, IssueDialog, Loaded, PageHeader, Pager, ROLES, When, formValues, useAction, usePages } from '../ui.jsx';
import { RoleSelect } from './service-accounts.jsx';

export const LAST_ADMIN =
  'This is the account’s only Admin: an account always keeps one. Make another member Admin first.';

export function Members({ account, caller }) {
  const list = usePages(
    (first, after) => gql(MEMBERS, { account: account.id, first, after }).then((d) => d.getAccount.members ?? []),
    50,
    account.id,
  );
  const [dialog, setDialog] = useState(null);
  const { error, run } = useAction();
  const close = () => {
    setDialog(null);
    list.reload();
  };
  // Whether an Admin is the only one can be told only when every member is
  // on this page; otherwise the server says so if it comes to it.
  const whole = !list.previous && !list.next;
  const admins = whole ? (list.data ?? []).filter((m) => m.roleCode === 'Admin').length : Infinity;
  const changeRole = async (member, roleCode) => {
    await run(() => gql(UPDATE_MEMBER, { input: { accountId: account.id, userId: member.user.id, roleCode } }));
    list.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Members">
        <button type="button" onClick={() => setDialog({ kind: 'add' })}>
          Add member
        </button>
      </PageHeader>
      <Failure error={error} />
      <Loaded state={list} empty="No members.">
        {(members) => (
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Groups</th>
                <th scope="col">Member since</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {members.map((m) => {
                const last = m.roleCode === 'Admin' && admins === 1;
                return (
                  <tr key={m.id} data-member={m.user.username}>
                    <td>
                      {m.user.name} <span class="muted">@{m.user.username}</span>
                      {m.user.id === caller.id && <span class="muted"> (you)</span>}
                      {m.user.email && <div class="muted small">{m.user.email}</div>}
                    </td>
                    <td>
                      <label class="inline">
                        <span class="visually-hidden">Role of {m.user.username}</span>
                        <select
                          value={m.roleCode}
                          disabled={last}
                          aria-describedby={last ? `last-${m.id}` : undefined}
                          onChange={(e) => changeRole(m, e.currentTarget.value)}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      </label>
                      {last && (
                        <p id={`last-${m.id}`} class="muted small">
                          {LAST_ADMIN}
                        </p>
                      )}
                    </td>
                    <td>{m.groups?.map((g) => g.name).join(', ') || <span class="muted">None</span>}</td>
                    <td>
                      <When at={m.createdAt} />
                    </td>
                    <td class="row-actions">
                      <button
                        type="button"
                        class="danger small"
                        disabled={last}
                        title={last ? LAST_ADMIN : undefined}
                        onClick={() => setDialog({ kind: 'remove', member: m })}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Loaded>
      <Pager pages={list} label="Pages of members" />
      {dialog?.kind === 'add' && <AddMember account={account} onClose={close} />}
      {dialog?.kind === 'remove' && (
        <Confirm
          title={`Remove ${dialog.member.user.username}?`}
          action="Remove"
          danger
          onClose={close}
          onDone={() => gql(REMOVE_MEMBER, { input: { accountId: account.id, userId: dialog.member.user.id } })}
        >
          <p>They lose access to this account at once, and leave its groups. Their tokens still work in their other accounts.</p>
        </Confirm>
      )}
    </section>
  );
}

function AddMember({ account, onClose }) {
  const issue = async (form) => {
    const v = formValues(form);
    const done = await gql(ADD_MEMBER, {
      input: { accountId: account.id, username: v.username, email: v.email || null, roleCode: v.role },
    });
    return done.addAccountMember.initialToken;
  };
  return (
    <IssueDialog
      title="Add a member"
      issuedTitle="Member added"
      label="Initial token"
      intro="Hand this first personal access token to the new member, by a channel you trust. They can make their own tokens with it."
      action="Add"
      onClose={onClose}
      issue={issue}
    >
      <p class="muted">This creates a new user. A user who already exists joins by an invitation instead.</p>
      <label>
        Username
        <input name="username" required autoFocus autocomplete="off" />
      </label>
      <label>
        Email <span class="muted">(optional)</span>
        <input name="email" type="email" />
      </label>
      <RoleSelect name="role" value="Viewer" />
    </IssueDialog>
  );
}
