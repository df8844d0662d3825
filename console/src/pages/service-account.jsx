// One service account: its settings, its lifecycle, its keys, its groups and
// what it may do on each project.
import { useState } from 'preact/hooks';
import {
  CREATE_KEY,
  DELETE_SERVICE_ACCOUNT,
  DISABLE_KEY,
  ENABLE_KEY,
  REVOKE_KEY,
  ROTATE_KEY,
  SERVICE_ACCOUNT,
  UPDATE_SERVICE_ACCOUNT,
  gql,
} from '../api.js';
import {
  ActionsHeader, Badge, Confirm, Empty, Failure, FormDialog, IssueDialog, LastUsed, Leaked, Loading, NameFields, PageHeader,
  When, RangesField, credentialState, disabledWhy, formValues, rangesOf, useLoad,
} from '../ui.jsx';
import { RoleSelect } from './service-accounts.jsx';
import { EffectivePermissions } from './my-access.jsx';

export function ServiceAccountPage({ id, account }) {
  const sa = useLoad(() => gql(SERVICE_ACCOUNT, { id }).then((d) => d.serviceAccount), [id]);
  const [dialog, setDialog] = useState(null);
  const close = () => setDialog(null);
  if (sa.loading && !sa.data) return <Loading />;
  if (sa.error) {
    return (
      <section>
        <p>
          <a href="#/service-accounts">← Service accounts</a>
        </p>
        <Failure error={sa.error} onRetry={sa.reload} />
      </section>
    );
  }
  const s = sa.data;
  const setEnabled = (enabled) => gql(UPDATE_SERVICE_ACCOUNT, { input: { serviceAccountId: s.id, enabled } }).then(sa.reload);
  return (
    <section aria-labelledby="page-title">
      <p>
        <a href="#/service-accounts">← Service accounts</a>
      </p>
      <PageHeader title={s.name}>
        <button type="button" class="secondary" onClick={() => setDialog('edit')}>
          Edit
        </button>
        {s.enabled ? (
          <button type="button" class="secondary" onClick={() => setDialog('disable')}>
            Disable
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => setDialog('enable')}>
            Enable
          </button>
        )}
        <button type="button" class="danger" onClick={() => setDialog('delete')}>
          Delete
        </button>
      </PageHeader>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{s.enabled ? <Badge tone="good">Enabled</Badge> : <Badge tone="bad">Disabled: its keys are refused</Badge>}</dd>
        <dt>Role</dt>
        <dd>{s.roleCode}</dd>
        <dt>Description</dt>
        <dd>{s.description || <span class="muted">None</span>}</dd>
        <dt>Addresses</dt>
        <dd>{s.allowedRanges ? s.allowedRanges.join(', ') : <span class="muted">Wherever the account allows</span>}</dd>
        <dt>Groups</dt>
        <dd>
          {s.groups?.length ? (
            s.groups.map((g, i) => (
              <span key={g.id}>
                {i > 0 && ', '}
                <a href={`#/groups/${g.id}`}>{g.name}</a>
              </span>
            ))
          ) : (
            <span class="muted">None</span>
          )}
        </dd>
        <dt>Created</dt>
        <dd>
          <When at={s.createdAt} />
          {s.createdByUser && ` by ${s.createdByUser.name}`}
        </dd>
      </dl>

      <Keys sa={s} onChanged={sa.reload} />

      <h2>Permissions by project</h2>
      <EffectivePermissions account={account} principalId={s.id} />

      {dialog === 'edit' && <EditServiceAccount sa={s} onClose={close} onSaved={sa.reload} />}
      {dialog === 'disable' && (
        <Confirm title={`Disable ${s.name}?`} action="Disable" danger onClose={close} onDone={() => setEnabled(false)}>
          <p>Every key of this service account stops working at once, on the next request. Enabling it again restores the keys that are neither revoked nor expired.</p>
        </Confirm>
      )}
      {dialog === 'enable' && (
        <Confirm title={`Enable ${s.name}?`} action="Enable" onClose={close} onDone={() => setEnabled(true)}>
          <p>Its keys that are neither revoked nor expired work again at once.</p>
        </Confirm>
      )}
      {dialog === 'delete' && (
        <Confirm
          title={`Delete ${s.name}?`}
          action="Delete for good"
          danger
          confirmWord={s.name}
          onClose={close}
          onDone={() =>
            gql(DELETE_SERVICE_ACCOUNT, { input: { serviceAccountId: s.id } }).then(() => {
              location.hash = '#/service-accounts';
              return true;
            })
          }
        >
          <p>The service account and all of its keys are deleted. Its keys stop working at once. This cannot be undone.</p>
        </Confirm>
      )}
    </section>
  );
}

function EditServiceAccount({ sa, onClose, onSaved }) {
  const save = async (form) => {
    const v = formValues(form);
    await gql(UPDATE_SERVICE_ACCOUNT, {
      input: {
        serviceAccountId: sa.id,
        name: v.name,
        description: v.description,
        roleCode: v.role,
        allowedRanges: rangesOf(v.allowedRanges),
      },
    });
    onSaved();
  };
  return (
    <FormDialog title={`Edit ${sa.name}`} action="Save" onClose={onClose} onSubmit={save}>
      <NameFields item={sa} />
      <RoleSelect name="role" value={sa.roleCode} />
      <RangesField label="Addresses its keys work from" value={sa.allowedRanges} hint="Within the account's addresses." />
    </FormDialog>
  );
}

function Keys({ sa, onChanged }) {
  const [dialog, setDialog] = useState(null);
  const close = () => {
    setDialog(null);
    onChanged();
  };
  const keys = sa.keys ?? [];
  return (
    <>
      <div class="section-header">
        <h2>Keys</h2>
        <button type="button" onClick={() => setDialog({ kind: 'create' })}>
          New key
        </button>
      </div>
      {keys.length === 0 ? (
        <Empty>No keys. A service account calls your services with a key: create one.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Role ceiling</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const [state, tone] = credentialState(k);
              return (
                <tr key={k.id} data-key={k.name ?? ''}>
                  <td>
                    {k.name ?? <span class="muted">Unnamed</span>}
                    {k.description && <div class="muted small">{k.description}</div>}
                    {k.allowedRanges && <div class="muted small">From {k.allowedRanges.join(', ')}</div>}
                  </td>
                  <td>{k.prefix ? <code class="prefix">{k.prefix}…</code> : <span class="muted">Not kept</span>}</td>
                  <td>{k.roleCeiling ?? <span class="muted">None ({sa.roleCode})</span>}</td>
                  <td>
                    <When at={k.createdAt} />
                  </td>
                  <td>
                    <When at={k.expiresAt} never="Never" />
                  </td>
                  <td>
                    <LastUsed at={k.lastUsedAt} from={k.lastUsedFrom} agent={k.lastUsedUserAgent} />
                  </td>
                  <td>
                    <Badge tone={tone}>{state}</Badge>
                    {state === 'Disabled' && <div class="muted small">{disabledWhy(k.disabledReason)}</div>}
                    {k.leak && <Leaked leak={k.leak} />}
                    {k.policyViolation && (
                      <div class="policy small">
                        <Badge tone="bad">Refused by policy</Badge> <span class="muted">{k.policyViolation.message}</span>
                      </div>
                    )}
                  </td>
                  <td class="row-actions">
                    {state === 'Active' && (
                      <>
                        <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'rotate', key: k })}>
                          Rotate
                        </button>
                        <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'disable', key: k })}>
                          Disable
                        </button>
                      </>
                    )}
                    {state === 'Disabled' && (
                      <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'enable', key: k })}>
                        Enable
                      </button>
                    )}
                    {(state === 'Active' || state === 'Disabled') && (
                      <button type="button" class="danger small" onClick={() => setDialog({ kind: 'revoke', key: k })}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {dialog?.kind === 'create' && <CreateKey sa={sa} onClose={close} />}
      {dialog?.kind === 'rotate' && <RotateKey k={dialog.key} onClose={close} />}
      {dialog?.kind === 'disable' && (
        <Confirm
          title={`Disable ${dialog.key.name ?? 'this key'}?`}
          action="Disable"
          danger
          onClose={close}
          onDone={() => gql(DISABLE_KEY, { input: { serviceAccountKeyId: dialog.key.id } })}
        >
          <p>The key stops working at once, on the next request, in every process. It is not revoked: enabling it again lets it work.</p>
        </Confirm>
      )}
      {dialog?.kind === 'enable' && (
        <Confirm
          title={`Enable ${dialog.key.name ?? 'this key'}?`}
          action="Enable"
          onClose={close}
          onDone={() => gql(ENABLE_KEY, { input: { serviceAccountKeyId: dialog.key.id } })}
        >
          <p>The key works again at once. Its days without use count from now.</p>
        </Confirm>
      )}
      {dialog?.kind === 'revoke' && (
        <Confirm
          title={`Revoke ${dialog.key.name ?? 'this key'}?`}
          action="Revoke"
          danger
          onClose={close}
          onDone={() => gql(REVOKE_KEY, { input: { serviceAccountKeyId: dialog.key.id } })}
        >
          <p>The key stops working at once, on the next request, in every process. This cannot be undone.</p>
        </Confirm>
      )}
    </>
  );
}

function CreateKey({ sa, onClose }) {
  const issue = async (form) => {
    const v = formValues(form);
    const done = await gql(CREATE_KEY, {
      input: {
        serviceAccountId: sa.id,
        name: v.name || null,
        description: v.description || null,
        expiresInDays: v.days ? Number(v.days) : null,
        roleCode: v.ceiling || null,
        allowedRanges: rangesOf(v.allowedRanges),
      },
    });
    return done.createServiceAccountKey.secret;
  };
  return (
    <IssueDialog
      title={`New key for ${sa.name}`}
      issuedTitle="Key created"
      label="Key"
      action="Create key"
      onClose={onClose}
      issue={issue}
    >
      <label>
        Name <span class="muted">(optional)</span>
        <input name="name" maxLength={255} autoFocus />
      </label>
      <label>
        Description <span class="muted">(optional)</span>
        <input name="description" />
      </label>
      <label>
        Expires in days <span class="muted">(1 to 3650; empty: never)</span>
        <input name="days" type="number" min={1} max={3650} inputMode="numeric" />
      </label>
      <RoleSelect name="ceiling" label="Role ceiling" allowNone />
      <RangesField label="Addresses it works from (optional)" hint="Within its service account's and account's addresses." />
    </IssueDialog>
  );
}

function RotateKey({ k, onClose }) {
  const issue = async (form) => {
    const v = formValues(form);
    const done = await gql(ROTATE_KEY, {
      input: {
        serviceAccountKeyId: k.id,
        overlapSeconds: Math.round(Number(v.overlap) * 60),
        expiresAt: v.days ? new Date(Date.now() + Number(v.days) * 86400000).toISOString() : null,
      },
    });
    return done.rotateServiceAccountKey.secret;
  };
  return (
    <IssueDialog title={`Rotate ${k.name ?? 'this key'}`} issuedTitle="Key rotated" label="New key" action="Rotate" onClose={onClose} issue={issue}>
      <p>A new key replaces this one, with the same name and role ceiling. The old key keeps working for the overlap, then expires.</p>
      <label>
        Overlap, in minutes <span class="muted">(0 to 10080, 7 days)</span>
        <input name="overlap" type="number" min={0} max={10080} defaultValue={60} required inputMode="numeric" autoFocus />
      </label>
      <label>
        New key expires in days <span class="muted">(optional)</span>
        <input name="days" type="number" min={1} max={3650} inputMode="numeric" />
      </label>
    </IssueDialog>
  );
}
