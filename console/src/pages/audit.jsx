// The audit log: newest first, in pages, filtered by actor, action and target.
import { useState } from 'preact/hooks';
import {
  ACTORS,
  AUDIT_EVENTS,
  gql,
} from '../api.js';
import { Choice, Empty, Failure, Loading, PageHeader, When, useLoad } from '../ui.jsx';

const PAGE = 25;

// Where the console shows an event's target.
function targetLink(type, id) {
  switch (type) {
    case 'ServiceAccount':
      return `#/service-accounts/${id}`;
    case 'Group':
      return `#/groups/${id}`;
    case 'User':
    case 'AccountMember':
      return '#/members';
    case 'Project':
      return '#/projects';
    case 'PermissionSet':
    case 'Permission':
      return '#/permission-sets';
    case 'PersonalAccessToken':
      return '#/tokens';
    default:
      return null;
  }
}

const spaced = (type) => type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

export function Audit({ account }) {
  const [filter, setFilter] = useState({});
  const [cursors, setCursors] = useState([null]);
  const before = cursors[cursors.length - 1];
  const actors = useLoad(() => gql(ACTORS, { account: account.id }).then((d) => d.getAccount), [account.id]);
  const events = useLoad(
    () =>
      gql(AUDIT_EVENTS, {
        account: account.id,
        last: PAGE,
        before,
        filter: Object.keys(filter).length
          ? { actorId: filter.actorId ?? null, action: filter.action ?? null, targetId: filter.targetId ?? null }
          : null,
      }).then((d) => d.getAccount.auditEvents),
    [account.id, before, JSON.stringify(filter)],
  );
  const apply = (next) => {
    setFilter(Object.fromEntries(Object.entries(next).filter(([, v]) => v)));
    setCursors([null]);
  };
  const submit = (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    apply({ ...filter, actorId: form.get('actor'), action: form.get('action').trim() });
  };
  const page = events.data;
  const rows = page ? [...page.nodes].reverse() : [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Audit log" />
      <form class="filters" onSubmit={submit} aria-label="Filter the audit log">
        <Choice
          key={filter.actorId ?? ''}
          label="Actor"
          name="actor"
          value={filter.actorId ?? ''}
          choices={[
            ['', 'Anyone'],
            ...(actors.data?.members ?? []).map((m) => [m.user.id, m.user.name]),
            ...(actors.data?.serviceAccounts ?? []).map((s) => [s.id, `${s.name} (service account)`]),
          ]}
        />
        <label>
          Action <span class="muted">(as in service_account or service_account_key.revoke)</span>
          <input name="action" defaultValue={filter.action ?? ''} key={filter.action ?? ''} spellcheck={false} />
        </label>
        <button type="submit" class="secondary">
          Filter
        </button>
        {Object.keys(filter).length > 0 && (
          <button type="button" class="secondary" onClick={() => apply({})}>
            Clear filters
          </button>
        )}
      </form>
      {filter.targetId && (
        <p class="muted">
          Only events about one {spaced(filter.targetType ?? 'object')}.{' '}
          <button type="button" class="link" onClick={() => apply({ ...filter, targetId: null, targetType: null })}>
            Show all targets
          </button>
        </p>
      )}
      {events.loading && !page ? (
        <Loading />
      ) : events.error ? (
        <Failure error={events.error} onRetry={events.reload} />
      ) : rows.length === 0 ? (
        <Empty>No events{Object.keys(filter).length ? ' match these filters' : ' yet'}.</Empty>
      ) : (
        <>
          <p class="muted small">
            {page.totalCount} {page.totalCount === 1 ? 'event' : 'events'}, newest first.
          </p>
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => {
                const link = targetLink(e.targetType, e.targetId);
                return (
                  <tr key={e.id} data-action={e.action}>
                    <td>
                      <When at={e.createdAt} />
                    </td>
                    <td>
                      {e.actor ? (
                        <button type="button" class="link" onClick={() => apply({ ...filter, actorId: e.actor.id })}>
                          {e.actorName}
                        </button>
                      ) : (
                        e.actorName
                      )}
                      {e.actorType === 'ServiceAccount' && <span class="muted small"> service account</span>}
                    </td>
                    <td>
                      <code>{e.action}</code>
                      <Changes before={e.before} after={e.after} />
                    </td>
                    <td>
                      <span class="muted small">{spaced(e.targetType)} </span>
                      {link ? <a href={link}>{e.targetName ?? e.targetType}</a> : e.targetName ?? e.targetType}{' '}
                      <button
                        type="button"
                        class="link small"
                        aria-label={`Only events about ${e.targetName ?? 'this target'}`}
                        onClick={() => apply({ ...filter, targetId: e.targetId, targetType: e.targetType })}
                      >
                        (filter)
                      </button>
                    </td>
                    <td class="muted small">{e.clientAddress ?? ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <nav class="pager" aria-label="Pages of the audit log">
        <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!page?.pageInfo.hasPreviousPage}
          onClick={() => setCursors([...cursors, page.pageInfo.startCursor])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}

function Changes({ before, after }) {
  if (!before && !after) return null;
  return (
    <details class="changes">
      <summary>Changes</summary>
      {before && (
        <>
          <div class="muted small">Before</div>
          <pre>{JSON.stringify(before, null, 2)}</pre>
        </>
      )}
      {after && (
        <>
          <div class="muted small">After</div>
          <pre>{JSON.stringify(after, null, 2)}</pre>
        </>
      )}
    </details>
  );
}
