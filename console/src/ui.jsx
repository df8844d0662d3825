// The pieces every page is made of: loading, empty and error states, dialogs,
// a secret shown once, times, and a hook that loads data.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

// Loads with `load()` whenever `deps` change; `reload()` loads again.
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => current && setState({ loading: false, data, error: null }),
      (error) => current && setState({ loading: false, data: null, error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

// Pages of `size` through a list the API reads with (first, after): asks for
// one more than a page to know whether another follows. `load(first, after)`
// returns the rows, each with an `id`; a new `key` starts from the first page.
export function usePages(load, size, key) {
  const [at, setAt] = useState({ key, cursors: [null] });
  const cursors = at.key === key ? at.cursors : [null];
  const after = cursors[cursors.length - 1];
  const state = useLoad(() => load(size + 1, after), [key, after]);
  const rows = state.data ? state.data.slice(0, size) : null;
  return {
    ...state,
    data: rows,
    previous: cursors.length > 1 ? () => setAt({ key, cursors: cursors.slice(0, -1) }) : null,
    next:
      state.data && state.data.length > size
        ? () => setAt({ key, cursors: [...cursors, rows[rows.length - 1].id] })
        : null,
  };
}

// Previous and Next for `usePages`; nothing when everything fits on one page.
export function Pager({ pages, label, previous = 'Previous', next = 'Next' }) {
  if (!pages.previous && !pages.next) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={!pages.previous} onClick={pages.previous}>
        {previous}
      </button>
      <button type="button" class="secondary" disabled={!pages.next} onClick={pages.next}>
        {next}
      </button>
    </nav>
  );
}

// Runs a change: `busy` while it runs, `error` if the server refused it.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (action) => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function Loading({ what = 'Loading' }) {
  return (
    <p class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

export function Empty({ children }) {
  return <p class="state empty">{children}</p>;
}

// The server's refusal in its own words, with its code.
export function Failure({ error, onRetry }) {
  if (!error) return null;
  return (
    <div class="failure" role="alert">
      <p>
        {error.message}
        {error.code && <code class="code">{error.code}</code>}
      </p>
      {onRetry && (
        <button type="button" class="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

// A modal dialog (the platform's own: focus stays inside, Escape closes it).
export function Dialog({ title, onClose, children, wide }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    dialog.showModal();
    const closed = () => onClose();
    dialog.addEventListener('close', closed);
    return () => {
      dialog.removeEventListener('close', closed);
      if (dialog.open) dialog.close();
    };
  }, []);
  return (
    <dialog ref={ref} class={wide ? 'wide' : ''} aria-labelledby="dialog-title">
      <header>
        <h2 id="dialog-title">{title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={() => ref.current.close()}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

// A confirmation: `confirmWord`, when given, must be typed to go on.
export function Confirm({ title, children, action, danger, confirmWord, onDone, onClose }) {
  const [typed, setTyped] = useState('');
  const { busy, error, run } = useAction();
  const ready = !confirmWord || typed === confirmWord;
  const submit = async (e) => {
    e.preventDefault();
    if (!ready) return;
    const done = await run(async () => {
      await onDone();
      return true;
    });
    if (done) onClose();
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit}>
        {children}
        {confirmWord && (
          <label>
            Type <strong>{confirmWord}</strong> to confirm
            <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus autocomplete="off" />
          </label>
        )}
        <Failure error={error} />
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={danger ? 'danger' : ''} disabled={!ready || busy}>
            {busy ? 'Working…' : action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// A dialog holding a form: Cancel, the action, and the server's refusal if it
// comes. `onSubmit(form)` does the work; the dialog closes when it succeeds,
// unless `closes` is false.
export function FormDialog({ title, action, onClose, onSubmit, closes = true, children }) {
  const { busy, error, run } = useAction();
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const done = await run(async () => {
      await onSubmit(form);
      return true;
    });
    if (done && closes) onClose();
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit}>
        {children}
        <Failure error={error} />
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Working…' : action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// A form whose action issues a secret (`issue(form)` returns it), then that
// secret, shown this once.
export function IssueDialog({ title, issuedTitle, label, intro, action, onClose, issue, children }) {
  const [secret, setSecret] = useState(null);
  if (secret !== null) {
    return (
      <Dialog title={issuedTitle} onClose={onClose}>
        {intro && <p>{intro}</p>}
        <SecretOnce secret={secret} label={label} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            I have copied it
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <FormDialog title={title} action={action} onClose={onClose} closes={false} onSubmit={async (form) => setSecret(await issue(form))}>
      {children}
    </FormDialog>
  );
}

// What `useLoad` gave: loading, refused (with a retry), empty, or `children(data)`.
export function Loaded({ state, empty, children }) {
  if (state.loading && !state.data) return <Loading />;
  if (state.error) return <Failure error={state.error} onRetry={state.reload} />;
  if (empty && (!state.data || state.data.length === 0)) return <Empty>{empty}</Empty>;
  return children(state.data);
}

// The header of a table's last column, which holds each row's buttons.
export function ActionsHeader() {
  return (
    <th scope="col">
      <span class="visually-hidden">Actions</span>
    </th>
  );
}

// Name and optional description fields, as most objects have.
export function NameFields({ item, nameLabel = 'Name', hint, maxLength = 255 }) {
  return (
    <>
      <label>
        {nameLabel}
        <input name="name" required maxLength={maxLength} defaultValue={item?.name} autoFocus spellcheck={false} />
      </label>
      {hint && <p class="muted small">{hint}</p>}
      <label>
        Description <span class="muted">(optional)</span>
        <input name="description" defaultValue={item?.description ?? ''} />
      </label>
    </>
  );
}

// A secret the server shows this once, with a copy button and a warning.
export function SecretOnce({ secret, label = 'Secret' }) {
  const [copied, setCopied] = useState(false);
  const field = useRef(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      field.current.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <div class="secret">
      <p class="warning" role="note">
        Copy this {label.toLowerCase()} now. keywarden keeps only a digest of it: it cannot be shown again.
      </p>
      <label>
        {label}
        <span class="copy-row">
          <input ref={field} readOnly value={secret} class="mono" data-secret onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={copy}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        </span>
      </label>
    </div>
  );
}

export function When({ at, never = 'Never' }) {
  if (!at) return <span class="muted">{never}</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

export function Badge({ children, tone = 'plain' }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

const REPORTERS = {
  github: 'GitHub secret scanning',
  github_webhook: 'a GitHub custom pattern',
  holder: 'someone holding it',
};

// A credential's first report as found in public: by whom, when, and where,
// linked only when the place is a web address.
export function Leaked({ leak }) {
  const by =
    REPORTERS[leak.reporter] ??
    (leak.reporter.startsWith('scanner:') ? `scanner ${leak.reporter.slice('scanner:'.length)}` : leak.reporter);
  const linked = leak.url && /^https?:\/\//i.test(leak.url);
  return (
    <div class="leak small">
      <Badge tone="bad">Leaked</Badge>{' '}
      <span class="muted">
        reported by {by}, <When at={leak.reportedAt} />
        {leak.source && ` (${leak.source})`}
      </span>
      {leak.url &&
        (linked ? (
          <div>
            <a href={leak.url} rel="noopener noreferrer nofollow" target="_blank">
              Where it was found
            </a>
          </div>
        ) : (
          <div class="muted">{leak.url}</div>
        ))}
    </div>
  );
}

// A key's or token's state, from its dates.
export function credentialState({ revokedAt, expiresAt, disabledAt }) {
  if (revokedAt) return ['Revoked', 'bad'];
  if (expiresAt && new Date(expiresAt) <= new Date()) return ['Expired', 'bad'];
  if (disabledAt) return ['Disabled', 'bad'];
  return ['Active', 'good'];
}

// Why a disabled key is, in words.
export function disabledWhy(reason) {
  return reason === 'IDLE' ? 'Unused past the account\'s limit' : 'By an Admin';
}

// Where a credential was last used from, under its time: its address and
// client, when known.
export function LastUsed({ at, from, agent }) {
  return (
    <>
      <When at={at} />
      {from && <div class="muted small">from {from}</div>}
      {agent && (
        <div class="muted small agent" title={agent}>
          {agent}
        </div>
      )}
    </>
  );
}

// Fields of a form by name, as strings ('' for empty).
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

export const ROLES = ['Admin', 'Editor', 'Viewer'];

// A labelled select of `choices` ([value, text] pairs), `value` chosen to
// begin with. Preact sets no `defaultValue` on a select, so the chosen option
// is marked `selected` itself: an uncontrolled select is written with this.
export function Choice({ label, name, value = '', choices }) {
  return (
    <label>
      {label}
      <select name={name}>
        {choices.map(([v, text]) => (
          <option key={v} value={v} selected={v === value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export function PageHeader({ title, children }) {
  return (
    <div class="page-header">
      <h1>{title}</h1>
      <div class="page-actions">{children}</div>
    </div>
  );
}

// A list of address ranges as a form gives it (one a line, or apart by
// spaces or commas): `null` when empty, for "anywhere".
export function rangesOf(text) {
  const ranges = (text ?? '').split(/[\s,]+/).filter((r) => r !== '');
  return ranges.length === 0 ? null : ranges;
}

// A field for a list of address ranges, one a line.
export function RangesField({ label, value, hint, name = 'allowedRanges' }) {
  const hintId = `${name}-hint`;
  return (
    <>
      <label>
        {label}
        <textarea name={name} rows="3" defaultValue={(value ?? []).join('\n')} placeholder="Anywhere" aria-describedby={hintId} />
      </label>
      <p id={hintId} class="muted small">
        {hint} Up to 20 networks, one a line, such as 203.0.113.0/24 or 2001:db8::/32. Leave it empty for anywhere.
      </p>
    </>
  );
}
