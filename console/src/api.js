// The console's one way to the server: the public GraphQL API, with the
// signed-in credential in the x-api-key header. The credential lives in this
// tab's session storage only: never in a cookie, never in a URL.

const TOKEN_KEY = 'keywarden.token';
// Sent when the server refuses the credential this tab signed in with.
export const SIGNED_OUT = 'keywarden:signed-out';
const ACCOUNT_KEY = 'keywarden.account';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  account: () => sessionStorage.getItem(ACCOUNT_KEY),
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  chooseAccount(id) {
    sessionStorage.setItem(ACCOUNT_KEY, id);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACCOUNT_KEY);
  },
};

// What the server refused, in its words, with its code.
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// Runs one GraphQL operation; returns its data, or throws the first error.
// A refusal of the tab's own credential signs the tab out, unless `probe`
// says the caller is only asking whether it still works.
export async function gql(query, variables = {}, token = session.token(), { probe = false } = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { 'x-api-key': token } : {}),
      },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
    });
  } catch {
    throw new ApiError('The server could not be reached. Check that it is running, then try again.', 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL response.`, 'HTTP_' + response.status, response.status);
  }
  const error = body.errors?.[0];
  // The tab's own credential refused: it was revoked or expired meanwhile.
  if (response.status === 401 && !probe && token && token === session.token()) {
    session.signOut();
    dispatchEvent(new CustomEvent(SIGNED_OUT));
  }
  if (error) {
    throw new ApiError(error.message, error.extensions?.code ?? 'ERROR', response.status);
  }
  return body.data;
}
