// Which of the account's credentials nobody uses: its keys, and its members'
// tokens, idle for the days chosen or never used, the longest idle first, in
// pages of 50.
import { useState } from 'preact/hooks';
import { UNUSED_CREDENTIALS, gql } from '../api.js';
import { Badge, Choice, Empty, Failure, Loading, PageHeader, When, credentialState, disabledWhy, useLoad } from '../ui.jsx';

const SPANS = [
  ['30', '30 days'],
  ['90', '90 days'],
  ['180', '180 days'],
  ['365', 'a year'],
];

// How long ago, in whole days.
function daysSince(at) {
  return Math.floor((Date.now() - new Date(at).getTime()) / 86400000);
}

export function Unused({ account }) {
  const [days, setDays] = useState(90);
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  const page = useLoad(
    () => gql(UNUSED_CREDENTIALS, { account: account.id, days, after }).then((d) => d.unusedCredentials),
    [account.id, days, after],
  );
  const choose = (e) => {
    e.preventDefault();
    setDays(Number(new FormData(e.currentTarget).get('days')));
    setCursors([null]);
  };
  const found = page.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Unused credentials" />
      <p class="muted">
        Keys of this account's service accounts, and its members' personal access tokens, that work but have not been used
        for the time chosen, or ever. Revoke what nobody needs; the account's settings can disable keys unused for long.
      </p>
      <form class="filters" onSubmit={choose} aria-label="How long unused">
        <Choice label="Not used for" name="days" value={String(days)} choices={SPANS} />
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      {page.loading && !found ? (
        <Loading />
      ) : page.error ? (
        <Failure error={page.error} onRetry={page.reload} />
      ) : found.nodes.length === 0 ? (
        <Empty>Every credential of this account was used in the last {days} days.</Empty>
      ) : (
        <>
          <p class="muted small" role="status">
            {found.totalCount} {found.totalCount === 1 ? 'credential' : 'credentials'} unused for {days} days or more, the
            longest idle first.
          </p>
          <table class="unused">
            <thead>
              <tr>
                <th scope="col">Credential</th>
                <th scope="col">Belongs to</th>
                <th scope="col">Last used</th>
                <th scope="col">Idle</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {found.nodes.map((c) => {
                const key = c.serviceAccountKey;
                const [state, tone] = credentialState({ ...c, disabledAt: key?.disabledAt });
                return (
                  <tr key={c.id} data-credential={c.name ?? ''}>
                    <td>
                      {c.name ?? <span class="muted">Unnamed</span>}
                      <div class="muted small">
                        {key ? 'Key' : 'Personal access token'}
                        {key?.prefix && (
                          <>
                            {' '}
                            <code class="prefix">{key.prefix}…</code>
                          </>
                        )}
                      </div>
                    </td>
                    <td>
                      {key ? (
                        <a href={`#/service-accounts/${key.serviceAccount.id}`}>{key.serviceAccount.name}</a>
                      ) : (
                        <a href="#/members">{c.user?.name ?? c.user?.username ?? 'A member'}</a>
                      )}
                    </td>
                    <td>
                      <When at={c.lastUsedAt} />
                    </td>
                    <td>{daysSince(c.idleSince)} days</td>
                    <td>
                      <When at={c.expiresAt} never="Never" />
                    </td>
                    <td>
                      <Badge tone={tone}>{state}</Badge>
                      {state === 'Disabled' && <div class="muted small">{disabledWhy(key.disabledReason)}</div>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <nav class="pager" aria-label="Pages of unused credentials">
        <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!found?.pageInfo.hasNextPage}
          onClick={() => setCursors([...cursors, found.pageInfo.endCursor])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}
