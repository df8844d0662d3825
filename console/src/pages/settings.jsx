// The account's settings: what its keys must be (the credential policy) and
// what a report of a leaked credential does.
import { useState } from 'preact/hooks';
import { ACCOUNT_SETTINGS, UPDATE_CREDENTIAL_POLICY, UPDATE_LEAK_RESPONSE, gql } from '../api.js';
import { Choice, Failure, Loading, PageHeader, RangesField, formValues, rangesOf, useAction, useLoad } from '../ui.jsx';

const LEAK_RESPONSES = [
  ['REVOKE', 'Revoke the key or token (the default)'],
  ['DISABLE', 'Revoke it and disable its service account'],
  ['RECORD', 'Only record it: it keeps working'],
];

export function Settings({ account }) {
  const data = useLoad(() => gql(ACCOUNT_SETTINGS, { account: account.id }).then((d) => d.getAccount), [account.id]);
  if (data.loading && !data.data) return <Loading />;
  if (data.error) return <Failure error={data.error} onRetry={data.reload} />;
  const settings = data.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Settings" />
      <KeyPolicy account={account} policy={settings.credentialPolicy} onSaved={data.reload} />
      <LeakResponse account={account} response={settings.leakResponse} onSaved={data.reload} />
    </section>
  );
}

function Saved({ when }) {
  return when ? (
    <p class="muted small" role="status">
      Saved.
    </p>
  ) : null;
}

// A settings form: `change(values)` sends the form's fields; `saved` says so
// once the server took them, until the next submit.
function useSettingsForm(change, onSaved) {
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  const save = async (e) => {
    e.preventDefault();
    setSaved(false);
    const values = formValues(e.currentTarget);
    if (await run(async () => change(values))) {
      setSaved(true);
      onSaved();
    }
  };
  return { busy, error, save, saved: saved && !busy && !error };
}

// A number of days typed in a field: `null` for none; anything but a whole
// number is refused here, in `what`'s words (the server checks the range).
function daysOf(text, what) {
  const days = text.trim();
  if (days === '') return null;
  if (!/^\d+$/.test(days)) throw new Error(`${what} is a whole number of days, from 1 to 3650, or empty for none.`);
  return Number(days);
}

// A field of a number of days, `none` shown when empty, with its hint.
function DaysField({ label, name, value, none, children }) {
  const hint = `${name}-hint`;
  return (
    <>
      <label>
        {label}
        <input name={name} inputmode="numeric" defaultValue={value ?? ''} placeholder={none} aria-describedby={hint} />
      </label>
      <p id={hint} class="muted small">
        {children}
      </p>
    </>
  );
}

function KeyPolicy({ account, policy, onSaved }) {
  const { busy, error, save, saved } = useSettingsForm((v) => {
    const lifetime = daysOf(v.keyMaxLifetimeDays, 'The longest lifetime');
    const idle = daysOf(v.disableUnusedAfterDays, 'The days without use');
    return gql(UPDATE_CREDENTIAL_POLICY, {
      input: {
        accountId: account.id,
        keyMaxLifetimeDays: lifetime,
        keyExpiryRequired: v.keyExpiryRequired === 'on',
        allowedRanges: rangesOf(v.allowedRanges),
        disableUnusedAfterDays: idle,
      },
    });
  }, onSaved);
  return (
    <form class="settings" onSubmit={save} aria-labelledby="key-policy-title">
      <h2 id="key-policy-title">What keys must be</h2>
      <p class="muted">
        A key made or rotated against these rules is refused. A key made before them keeps existing but stops working while
        it breaks them; its service account's page says why.
      </p>
      <DaysField label="Longest lifetime of a key, in days" name="keyMaxLifetimeDays" value={policy.keyMaxLifetimeDays} none="No limit">
        1 to 3650. A limit also means every key must expire. Leave it empty for no limit.
      </DaysField>
      <label class="check">
        <input name="keyExpiryRequired" type="checkbox" defaultChecked={policy.keyExpiryRequired} />
        Every key must have an expiry
      </label>
      <DaysField label="Disable a key unused for, in days" name="disableUnusedAfterDays" value={policy.disableUnusedAfterDays} none="Never">
        1 to 3650. A key unused that long stops working until an Admin enables it; it is not revoked. The{' '}
        <a href="#/unused">unused credentials</a> page lists them. Leave it empty to never disable keys for want of use.
      </DaysField>
      <RangesField
        label="Addresses keys work from"
        value={policy.allowedRanges}
        hint="A key used from elsewhere is refused with 403; a service account's or key's own addresses lie within these."
      />
      <Failure error={error} />
      <Saved when={saved} />
      <button type="submit" disabled={busy}>
        {busy ? 'Saving…' : 'Save the rules'}
      </button>
    </form>
  );
}

function LeakResponse({ account, response, onSaved }) {
  const { busy, error, save, saved } = useSettingsForm(
    (v) => gql(UPDATE_LEAK_RESPONSE, { input: { accountId: account.id, leakResponse: v.leakResponse } }),
    onSaved,
  );
  return (
    <form class="settings" onSubmit={save} aria-labelledby="leak-title">
      <h2 id="leak-title">When a credential is reported leaked</h2>
      <Choice label="What a report does" name="leakResponse" value={response ?? 'REVOKE'} choices={LEAK_RESPONSES} />
      <Failure error={error} />
      <Saved when={saved} />
      <button type="submit" disabled={busy}>
        {busy ? 'Saving…' : 'Save'}
      </button>
    </form>
  );
}
