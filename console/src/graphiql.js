// GraphiQL, served by keywarden itself: everything it loads is bundled, and
// it sends its requests to this origin's /graphql only.
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import './graphiql-page.css';

// The console keeps its token in this tab's session storage; GraphiQL opened
// in the same tab uses it unless the headers editor names a key of its own.
const TOKEN_KEY = 'keywarden.token';

async function fetcher(params, options) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers['x-api-key'] = token;
  Object.assign(headers, options?.headers ?? {});
  const response = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify(params),
    credentials: 'omit',
  });
  return response.json();
}

const defaultQuery = `# keywarden's GraphQL API. Send a credential with the x-api-key header
# (the Headers tab below), or sign in to the console in this tab first.
{
  me {
    id
    name
  }
}
`;

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, { fetcher, defaultQuery, shouldPersistHeaders: false }),
);
