// The console's frame: signing in and out, the account chosen, the menu, and
// the page the URL's fragment names (#/service-accounts/ID and the like).
import { useEffect, useState } from 'preact/hooks';
import {
  ME,
  SIGNED_OUT,
  gql,
  session,
} from './api.js';
import { Failure, Loading, useAction, useLoad } from './ui.jsx';
import { ServiceAccounts } from './pages/service-accounts.jsx';
import { ServiceAccountPage } from './pages/service-account.jsx';
import { Members } from './pages/members.jsx';
import { Groups, GroupPage } from './pages/groups.jsx';
import { PermissionSets, Projects } from './pages/access.jsx';
import { Tokens } from './pages/tokens.jsx';
import { Audit } from './pages/audit.jsx';
import { MyAccess } from './pages/my-access.jsx';
import { Settings } from './pages/settings.jsx';
import { Unused } from './pages/unused.jsx';

function useRoute() {
  const read = () => (location.hash.replace(/^#\/?/, '') || '').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function App() {
  const [token, setToken] = useState(session.token());
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    const refused = () => {
      setNotice('The token this tab signed in with no longer works: it was revoked or has expired. Sign in again.');
      setToken(null);
    };
    addEventListener(SIGNED_OUT, refused);
    return () => removeEventListener(SIGNED_OUT, refused);
  }, []);
  if (!token) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  const signOut = () => {
    session.signOut();
    location.hash = '';
    setToken(null);
  };
  return <Signed token={token} onSignOut={signOut} />;
}

function SignIn({ notice, onSignedIn }) {
  const { busy, error, run } = useAction();
  const submit = async (e) => {
    e.preventDefault();
    const token = new FormData(e.currentTarget).get('token').trim();
    const me = await run(() => gql(ME, {}, token));
    if (me) {
      session.signIn(token);
      onSignedIn(token);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">keywarden</h1>
        {notice && (
          <p class="warning" role="alert">
            {notice}
          </p>
        )}
        <p>Sign in with a personal access token. It stays in this tab only and is forgotten when the tab closes.</p>
        <label>
          Personal access token
          <input name="token" type="password" autocomplete="off" required spellcheck={false} class="mono" />
        </label>
        <Failure error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Signed({ token, onSignOut }) {
  const me = useLoad(() => gql(ME), [token]);
  const route = useRoute();
  const [accountId, setAccountId] = useState(session.account());
  if (me.loading && !me.data) return <Loading what="Signing in" />;
  if (me.error) {
    return (
      <main class="sign-in">
        <div>
          <h1>keywarden</h1>
          <Failure error={me.error} />
          <button type="button" onClick={onSignOut}>
            Sign in again
          </button>
        </div>
      </main>
    );
  }
  const caller = me.data.me;
  const accounts = caller.isServiceAccount ? [caller.account] : caller.accounts ?? [];
  const chosen = accounts.find((a) => a.id === accountId) ?? accounts[0];
  const choose = (id) => {
    session.chooseAccount(id);
    setAccountId(id);
    location.hash = '#/';
  };
  return (
    <Frame caller={caller} accounts={accounts} account={chosen} route={route} onChoose={choose} onSignOut={onSignOut} />
  );
}

function Frame({ caller, accounts, account, route, onChoose, onSignOut }) {
  const role = account?.viewerRoleCode;
  // Inside keywarden only human Admins manage; everyone else reads their own.
  const admin = !caller.isServiceAccount && role === 'Admin';
  const choose = (e) => onChoose(e.currentTarget.value);
  const [page, id] = route;
  const links = [
    ...(admin
      ? [
          ['service-accounts', 'Service accounts'],
          ['members', 'Members'],
          ['groups', 'Groups'],
          ['permission-sets', 'Permission sets'],
          ['projects', 'Projects'],
          ['audit', 'Audit log'],
          ['unused', 'Unused credentials'],
          ['settings', 'Settings'],
        ]
      : []),
    ['my-access', 'My access'],
    ...(caller.isServiceAccount ? [] : [['tokens', 'My tokens']]),
  ];
  const current = links.some(([path]) => path === page) ? page : links[0][0];
  return (
    <div class="frame">
      <header class="top">
        <a class="brand" href="#/">
          keywarden
        </a>
        {accounts.length > 1 ? (
          <span class="switcher">
            <label for="account-switcher">Account</label>
            <select id="account-switcher" value={account.id} onChange={choose}>
              {accounts.map((a) => (
                <option value={a.id} key={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </span>
        ) : (
          <span class="account-name">{account?.name}</span>
        )}
        <span class="who" data-testid="who">
          {caller.name} · <span class="role">{caller.isServiceAccount ? `service account, ${role}` : role}</span>
        </span>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Pages">
        <ul>
          {links.map(([path, label]) => (
            <li key={path}>
              <a href={`#/${path}`} aria-current={current === path ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
        {!admin && (
          <p class="muted note">
            Managing service accounts, keys, members, groups and the audit log needs the Admin role of the
            account, held by a user.
          </p>
        )}
      </nav>
      <main id="main">
        <Page page={current} id={current === page ? id : undefined} account={account} caller={caller} />
      </main>
    </div>
  );
}

function Page({ page, id, account, caller }) {
  const props = { account, caller, key: `${account.id}/${page}/${id ?? ''}` };
  switch (page) {
    case 'service-accounts':
      return id ? <ServiceAccountPage id={id} {...props} /> : <ServiceAccounts {...props} />;
    case 'members':
      return <Members {...props} />;
    case 'groups':
      return id ? <GroupPage id={id} {...props} /> : <Groups {...props} />;
    case 'permission-sets':
      return <PermissionSets {...props} />;
    case 'projects':
      return <Projects {...props} />;
    case 'audit':
      return <Audit {...props} />;
    case 'tokens':
      return <Tokens {...props} />;
    case 'settings':
      return <Settings {...props} />;
    case 'unused':
      return <Unused {...props} />;
    default:
      return <MyAccess {...props} />;
  }
}
