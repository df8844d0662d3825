// The caller's own personal access tokens.
import { useState } from 'preact/hooks';
import { gql, session } from '../api.js';
import { Badge, Confirm, Dialog, Empty, Failure, Loading, PageHeader, SecretOnce, When, credentialState, formValues, useAction, useLoad } from '../ui.jsx';

const TOKENS = `query MyTokens {
  me {
    ... on User {
      personalAccessTokens { id name createdAt expiresAt lastUsedAt revokedAt rotatedAt }
      auditEvents(last: 10) { nodes { id action targetName createdAt clientAddress } }
    }
  }
}`;
const CREATE = `mutation CreatePersonalAccessToken($input: CreatePersonalAccessTokenInput!) {
  createPersonalAccessToken(input: $input) { id name secret }
}`;
const ROTATE = `mutation RotatePersonalAccessToken($input: RotatePersonalAccessTokenInput!) {
  rotatePersonalAccessToken(input: $input) { id name secret }
}`;
const REVOKE = `mutation RevokePersonalAccessToken($input: RevokePersonalAccessTokenInput!) {
  revokePersonalAccessToken(input: $input) { personalAccessToken { id } }
}`;

const inDays = (days) => new Date(Date.now() + Number(days) * 86400000).toISOString();

export function Tokens() {
  const list = useLoad(() => gql(TOKENS).then((d) => d.me), []);
  const [dialog, setDialog] = useState(null);
  const close = () => {
    setDialog(null);
    list.reload();
  };
  const tokens = list.data?.personalAccessTokens ?? [];
  const activity = [...(list.data?.auditEvents?.nodes ?? [])].reverse();
  const active = tokens.filter((t) => credentialState(t)[0] === 'Active').length;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="My tokens">
        <button type="button" onClick={() => setDialog({ kind: 'create' })} disabled={active >= 5}>
          New token
        </button>
      </PageHeader>
      <p class="muted">
        Personal access tokens act as you, in every account you belong to. You may hold 5 active tokens
        ({active} now). A token that expires can be rotated, at most once an hour: the old secret stops working at
        once. A token without an expiry cannot be rotated; revoke it and make another.
      </p>
      {list.loading && !list.data ? (
        <Loading />
      ) : list.error ? (
        <Failure error={list.error} onRetry={list.reload} />
      ) : tokens.length === 0 ? (
        <Empty>No tokens.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => {
              const [state, tone] = credentialState(t);
              return (
                <tr key={t.id} data-token={t.name ?? ''}>
                  <td>{t.name ?? <span class="muted">Unnamed</span>}</td>
                  <td>
                    <When at={t.createdAt} />
                  </td>
                  <td>
                    <When at={t.expiresAt} />
                  </td>
                  <td>
                    <When at={t.lastUsedAt} />
                  </td>
                  <td>
                    <Badge tone={tone}>{state}</Badge>
                  </td>
                  <td class="row-actions">
                    {state === 'Active' && (
                      <>
                        {t.expiresAt && (
                          <button type="button" class="secondary small" onClick={() => setDialog({ kind: 'rotate', token: t })}>
                            Rotate
                          </button>
                        )}
                        <button type="button" class="danger small" onClick={() => setDialog({ kind: 'revoke', token: t })}>
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h2>Recent activity</h2>
      {!list.data ? null : activity.length === 0 ? (
        <Empty>Nothing yet.</Empty>
      ) : (
        <table class="activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Token</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {activity.map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td>
                  <When at={e.createdAt} />
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.targetName ?? <span class="muted">Unnamed</span>}</td>
                <td class="muted small">{e.clientAddress ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog?.kind === 'create' && <NewToken onClose={close} />}
      {dialog?.kind === 'rotate' && <RotateToken token={dialog.token} onClose={close} />}
      {dialog?.kind === 'revoke' && (
        <Confirm
          title={`Revoke ${dialog.token.name ?? 'this token'}?`}
          action="Revoke"
          danger
          onClose={close}
          onDone={async () => {
            await gql(REVOKE, { input: { personalAccessTokenId: dialog.token.id } });
            // Revoking the token this tab signed in with signs it out.
            if (await gql('{ me { id } }').catch(() => null) === null) {
              session.signOut();
              location.reload();
            }
          }}
        >
          <p>The token stops working at once. If this tab signed in with it, you are signed out.</p>
        </Confirm>
      )}
    </section>
  );
}

function NewToken({ onClose }) {
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const v = formValues(e.currentTarget);
    const done = await run(() => gql(CREATE, { input: { name: v.name || null, expiresAt: v.days ? inDays(v.days) : null } }));
    if (done) setCreated(done.createPersonalAccessToken);
  };
  return (
    <Dialog title={created ? 'Token created' : 'New personal access token'} onClose={onClose}>
      {created ? (
        <>
          <SecretOnce secret={created.secret} label="Token" />
          <div class="actions">
            <button type="button" onClick={onClose}>
              I have copied it
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit}>
          <label>
            Name <span class="muted">(optional)</span>
            <input name="name" maxLength={255} autoFocus />
          </label>
          <label>
            Expires in days <span class="muted">(empty: never; only a token that expires can be rotated)</span>
            <input name="days" type="number" min={1} max={3650} defaultValue={90} inputMode="numeric" />
          </label>
          <Failure error={error} />
          <div class="actions">
            <button type="button" class="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create token'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function RotateToken({ token, onClose }) {
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const v = formValues(e.currentTarget);
    const done = await run(() => gql(ROTATE, { input: { personalAccessTokenId: token.id, expiresAt: inDays(v.days) } }));
    if (done) {
      // Rotating the token this tab signed in with: keep signed in with the new one.
      const mine = await gql('{ me { id } }').then(() => false, () => true);
      if (mine) session.signIn(done.rotatePersonalAccessToken.secret);
      setCreated(done.rotatePersonalAccessToken);
    }
  };
  return (
    <Dialog title={created ? 'Token rotated' : `Rotate ${token.name ?? 'this token'}`} onClose={onClose}>
      {created ? (
        <>
          <SecretOnce secret={created.secret} label="New token" />
          <div class="actions">
            <button type="button" onClick={onClose}>
              I have copied it
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit}>
          <p>The token gets a new secret and expiry; its old secret stops working at once.</p>
          <label>
            New expiry, in days from now
            <input name="days" type="number" min={1} max={3650} defaultValue={90} required inputMode="numeric" autoFocus />
          </label>
          <Failure error={error} />
          <div class="actions">
            <button type="button" class="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" disabled={busy}>
              {busy ? 'Rotating…' : 'Rotate'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
