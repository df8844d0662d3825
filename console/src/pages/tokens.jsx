// The caller's own personal access tokens.
import { useState } from 'preact/hooks';
import {
  CREATE_TOKEN,
  MY_TOKENS,
  REVOKE_TOKEN,
  ROTATE_TOKEN,
  WHO_AM_I,
  gql,
  session,
} from '../api.js';
import { ActionsHeader, Badge, Confirm, Empty, IssueDialog, LastUsed, Leaked, Loaded, PageHeader, When, credentialState, formValues, useLoad } from '../ui.jsx';

const inDays = (days) => new Date(Date.now() + Number(days) * 86400000).toISOString();

export function Tokens() {
  const list = useLoad(() => gql(MY_TOKENS).then((d) => d.me), []);
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
      <Loaded state={{ ...list, data: list.data && tokens }} empty="No tokens.">
        {() => (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <ActionsHeader />
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
                      <LastUsed at={t.lastUsedAt} from={t.lastUsedFrom} agent={t.lastUsedUserAgent} />
                    </td>
                    <td>
                      <Badge tone={tone}>{state}</Badge>
                      {t.leak && <Leaked leak={t.leak} />}
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
      </Loaded>
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
            await gql(REVOKE_TOKEN, { input: { personalAccessTokenId: dialog.token.id } });
            // Revoking the token this tab signed in with signs it out (the
            // refusal of this request does).
            await gql(WHO_AM_I).catch(() => null);
          }}
        >
          <p>The token stops working at once. If this tab signed in with it, you are signed out.</p>
        </Confirm>
      )}
    </section>
  );
}

function NewToken({ onClose }) {
  const issue = async (form) => {
    const v = formValues(form);
    const done = await gql(CREATE_TOKEN, { input: { name: v.name || null, expiresAt: v.days ? inDays(v.days) : null } });
    return done.createPersonalAccessToken.secret;
  };
  return (
    <IssueDialog title="New personal access token" issuedTitle="Token created" label="Token" action="Create token" onClose={onClose} issue={issue}>
      <label>
        Name <span class="muted">(optional)</span>
        <input name="name" maxLength={255} autoFocus />
      </label>
      <label>
        Expires in days <span class="muted">(empty: never; only a token that expires can be rotated)</span>
        <input name="days" type="number" min={1} max={3650} defaultValue={90} inputMode="numeric" />
      </label>
    </IssueDialog>
  );
}

function RotateToken({ token, onClose }) {
  const issue = async (form) => {
    const v = formValues(form);
    const done = await gql(ROTATE_TOKEN, { input: { personalAccessTokenId: token.id, expiresAt: inDays(v.days) } });
    const secret = done.rotatePersonalAccessToken.secret;
    // Rotating the token this tab signed in with: stay signed in with the new one.
    const mine = await gql(WHO_AM_I, {}, session.token(), { probe: true }).then(
      () => false,
      () => true,
    );
    if (mine) session.signIn(secret);
    return secret;
  };
  return (
    <IssueDialog title={`Rotate ${token.name ?? 'this token'}`} issuedTitle="Token rotated" label="New token" action="Rotate" onClose={onClose} issue={issue}>
      <p>The token gets a new secret and expiry; its old secret stops working at once.</p>
      <label>
        New expiry, in days from now
        <input name="days" type="number" min={1} max={3650} defaultValue={90} required inputMode="numeric" autoFocus />
      </label>
    </IssueDialog>
  );
}
